import { StackError, StackErrorCode } from '../errors.ts';
import type { BuiltImage } from './build.ts';
import { MediaType, sha256Digest } from './oci.ts';

export interface RegistryAuth {
  username: string;
  password: string;
}

export interface RegistryEndpoint {
  /** e.g. `http://127.0.0.1:5000` */
  url: string;
  /** Sent as HTTP Basic, which is what distribution's htpasswd auth expects. */
  auth?: RegistryAuth;
}

/** A registry API call failed; `status` is 0 when no HTTP response came back at all. */
export class RegistryError extends StackError {
  readonly status: number;
  readonly body: string;
  readonly method: string;
  readonly url: string;

  constructor(opts: {
    method: string;
    url: string;
    status: number;
    body: string;
    message: string;
    cause?: unknown;
  }) {
    super(StackErrorCode.Registry, 'registry', opts.message, { cause: opts.cause });
    this.status = opts.status;
    this.body = opts.body;
    this.method = opts.method;
    this.url = opts.url;
  }
}

export function isRegistryError(e: unknown): e is RegistryError {
  return e instanceof RegistryError;
}

export interface FetchedManifest {
  mediaType: string;
  bytes: Buffer;
  /** sha256 of the returned bytes (verified against Docker-Content-Digest when sent). */
  digest: string;
}

export interface PushResult {
  repository: string;
  tag: string;
  /** Manifest digest, as confirmed by the registry. */
  digest: string;
}

export interface RegistryClient {
  hasBlob(repository: string, digest: string): Promise<boolean>;
  /** Monolithic upload; returns false when the blob was already there. */
  pushBlob(repository: string, blob: { digest: string; bytes: Buffer }): Promise<boolean>;
  /** Returns the manifest digest after checking the registry computed the same one. */
  putManifest(
    repository: string,
    reference: string,
    manifest: { mediaType: string; bytes: Buffer },
  ): Promise<string>;
  getManifest(repository: string, reference: string, accept?: readonly string[]): Promise<FetchedManifest>;
  getBlob(repository: string, digest: string): Promise<Buffer>;
  pushImage(image: BuiltImage, target?: { repository?: string; tag?: string }): Promise<PushResult>;
}

const DEFAULT_ACCEPT = [MediaType.DockerManifest, MediaType.OciManifest];

export function createRegistryClient(endpoint: RegistryEndpoint): RegistryClient {
  const base = new URL(endpoint.url.endsWith('/') ? endpoint.url : `${endpoint.url}/`);
  const authorization = endpoint.auth
    ? `Basic ${Buffer.from(`${endpoint.auth.username}:${endpoint.auth.password}`).toString('base64')}`
    : undefined;

  async function request(
    method: string,
    pathOrUrl: string,
    expected: readonly number[],
    init: { headers?: Record<string, string>; body?: Buffer } = {},
  ): Promise<Response> {
    const url = new URL(pathOrUrl, base);
    const headers: Record<string, string> = { ...init.headers };
    // Upload locations come from the server; never hand credentials to another origin.
    if (authorization && url.origin === base.origin) headers.authorization = authorization;
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: init.body, redirect: 'follow' });
    } catch (cause) {
      throw new RegistryError({
        method,
        url: url.href,
        status: 0,
        body: '',
        message: `${method} ${url.pathname}: request failed: ${(cause as Error).message}`,
        cause,
      });
    }
    if (!expected.includes(res.status)) {
      const body = await res.text().catch(() => '');
      throw new RegistryError({
        method,
        url: url.href,
        status: res.status,
        body,
        message: `${method} ${url.pathname} → ${res.status} ${res.statusText}${explain(res, body, authorization !== undefined)}`,
      });
    }
    return res;
  }

  async function hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await request('HEAD', `v2/${repository}/blobs/${digest}`, [200, 404]);
    return res.status === 200;
  }

  async function pushBlob(repository: string, blob: { digest: string; bytes: Buffer }): Promise<boolean> {
    if (await hasBlob(repository, blob.digest)) return false;
    const started = await request('POST', `v2/${repository}/blobs/uploads/`, [202]);
    await started.body?.cancel();
    const location = started.headers.get('location');
    if (!location) {
      throw new RegistryError({
        method: 'POST',
        url: new URL(`v2/${repository}/blobs/uploads/`, base).href,
        status: started.status,
        body: '',
        message: `upload for ${repository} started without a Location header`,
      });
    }
    // The location already carries the upload state as a query string.
    const put = new URL(location, base);
    put.searchParams.set('digest', blob.digest);
    const done = await request('PUT', put.href, [201], {
      headers: { 'content-type': 'application/octet-stream' },
      body: blob.bytes,
    });
    await done.body?.cancel();
    checkDigest('PUT', put.href, done, blob.digest);
    return true;
  }

  async function putManifest(
    repository: string,
    reference: string,
    manifest: { mediaType: string; bytes: Buffer },
  ): Promise<string> {
    const path = `v2/${repository}/manifests/${reference}`;
    const res = await request('PUT', path, [201], {
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
    });
    await res.body?.cancel();
    const digest = sha256Digest(manifest.bytes);
    checkDigest('PUT', new URL(path, base).href, res, digest);
    return digest;
  }

  async function getManifest(
    repository: string,
    reference: string,
    accept: readonly string[] = DEFAULT_ACCEPT,
  ): Promise<FetchedManifest> {
    const path = `v2/${repository}/manifests/${reference}`;
    const res = await request('GET', path, [200], { headers: { accept: accept.join(', ') } });
    const bytes = Buffer.from(await res.arrayBuffer());
    const digest = sha256Digest(bytes);
    checkDigest('GET', new URL(path, base).href, res, digest);
    return { mediaType: res.headers.get('content-type') ?? '', bytes, digest };
  }

  async function getBlob(repository: string, digest: string): Promise<Buffer> {
    const path = `v2/${repository}/blobs/${digest}`;
    const res = await request('GET', path, [200]);
    const bytes = Buffer.from(await res.arrayBuffer());
    const actual = sha256Digest(bytes);
    if (actual !== digest) {
      throw new RegistryError({
        method: 'GET',
        url: new URL(path, base).href,
        status: res.status,
        body: '',
        message: `blob ${digest} came back with digest ${actual}`,
      });
    }
    return bytes;
  }

  async function pushImage(
    image: BuiltImage,
    target: { repository?: string; tag?: string } = {},
  ): Promise<PushResult> {
    const repository = target.repository ?? image.repository;
    const tag = target.tag ?? image.tag;
    // Sequential on purpose: blobs are small and the manifest PUT needs them all.
    for (const layer of image.layers) await pushBlob(repository, layer);
    await pushBlob(repository, image.config);
    const digest = await putManifest(repository, tag, image.manifest);
    return { repository, tag, digest };
  }

  return { hasBlob, pushBlob, putManifest, getManifest, getBlob, pushImage };
}

/** Convenience for one-off pushes; returns the manifest digest confirmed by the registry. */
export async function pushImage(
  endpoint: RegistryEndpoint,
  image: BuiltImage,
  target?: { repository?: string; tag?: string },
): Promise<PushResult> {
  return await createRegistryClient(endpoint).pushImage(image, target);
}

function checkDigest(method: string, url: string, res: Response, expected: string): void {
  const header = res.headers.get('docker-content-digest');
  if (header !== null && header !== expected) {
    throw new RegistryError({
      method,
      url,
      status: res.status,
      body: '',
      message: `registry reports digest ${header}, expected ${expected}`,
    });
  }
}

function explain(res: Response, body: string, sentCredentials: boolean): string {
  const parts: string[] = [];
  if (res.status === 401) {
    parts.push(sentCredentials ? 'credentials rejected' : 'authentication required, no credentials given');
    const challenge = res.headers.get('www-authenticate');
    if (challenge) parts.push(`challenge: ${challenge}`);
  }
  const detail = registryErrors(body);
  if (detail) parts.push(detail);
  return parts.length ? `: ${parts.join('; ')}` : '';
}

/** Distribution answers with `{"errors":[{"code","message","detail"}]}`; fall back to the raw text. */
function registryErrors(body: string): string {
  if (!body) return '';
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    if (Array.isArray(parsed.errors)) {
      return parsed.errors.map((e) => `${e.code ?? '?'}: ${e.message ?? ''}`).join(', ');
    }
  } catch {
    // not JSON
  }
  return body.trim().slice(0, 300);
}
