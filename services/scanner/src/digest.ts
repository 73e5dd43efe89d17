import type { RegistryCredentials } from '@fleetscan/bus';
import { DOCKER_HUB } from '@fleetscan/reports';
import { RegistryLookupError, ScanErrorCode } from './errors.ts';
import { isInsecureRegistry, parseValidImageRef } from './imageref.ts';

export interface ResolvedImage {
  registry: string;
  repository: string;
  tag?: string;
  /** Content digest of what the tag points at now (an index for multi-arch images). */
  digest: string;
  /** The registry answered a HEAD for it (false when the reference already carried the digest). */
  checked: boolean;
}

/** How a registry is asked: with these credentials (or none), over http for insecure ones, bounded. */
export interface LookupOptions {
  credentials?: RegistryCredentials;
  insecureRegistries?: readonly string[];
  timeoutMs?: number;
  /** The request's bound: ends a lookup still waiting for the registry. */
  signal?: AbortSignal;
}

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/**
 * Asks the registry which digest a reference points at (HEAD on the
 * manifest), so results can be cached by digest before running trivy and a
 * re-pushed tag is noticed. Handles anonymous, Basic and Bearer-token auth.
 */
export async function resolveDigest(image: string, opts: LookupOptions = {}): Promise<ResolvedImage> {
  const ref = parseRef(image);
  const base = { registry: ref.registry, repository: ref.repository, ...(ref.tag ? { tag: ref.tag } : {}) };
  if (ref.digest) return { ...base, digest: ref.digest, checked: false };
  const digest = await headManifest(image, ref, ref.tag ?? 'latest', opts);
  return { ...base, digest, checked: true };
}

/**
 * Proves that these credentials (or none) may read `digest` in the image's repository: a HEAD on
 * `manifests/<digest>`, authenticated as resolveDigest does. Throws UNAUTHORIZED, IMAGE_NOT_FOUND
 * or TRANSIENT like resolveDigest. Used before serving a cached result that was produced with
 * someone's credentials (see cache-keys.ts).
 */
export async function checkAccess(image: string, digest: string, opts: LookupOptions = {}): Promise<void> {
  await headManifest(image, parseRef(image), digest, opts);
}

/** The image reference, or INVALID_REFERENCE. */
function parseRef(image: string): ReturnType<typeof parseValidImageRef> {
  try {
    return parseValidImageRef(image);
  } catch (cause) {
    throw new RegistryLookupError(ScanErrorCode.InvalidReference, (cause as Error).message, { cause });
  }
}

/** HEAD on `manifests/<reference>`; returns the digest the registry names. */
async function headManifest(
  image: string,
  ref: { registry: string; repository: string },
  reference: string,
  opts: LookupOptions,
): Promise<string> {
  const host = ref.registry === DOCKER_HUB ? 'registry-1.docker.io' : ref.registry;
  const scheme = isInsecureRegistry(ref.registry, opts.insecureRegistries) ? 'http' : 'https';
  const url = `${scheme}://${host}/v2/${ref.repository}/manifests/${reference}`;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  // Each call gets the lesser of its own timeout and what is left of the request's bound.
  const bound = () =>
    opts.signal
      ? AbortSignal.any([AbortSignal.timeout(timeoutMs), opts.signal])
      : AbortSignal.timeout(timeoutMs);

  let res = await head(url, {}, bound());
  if (res.status === 401) {
    const auth = await authorize(res.headers.get('www-authenticate') ?? '', opts.credentials, bound);
    if (auth) res = await head(url, { authorization: auth }, bound());
  }
  if (res.status === 401 || res.status === 403) {
    throw new RegistryLookupError(ScanErrorCode.Unauthorized, `unauthorized: ${image} (HTTP ${res.status})`, {
      status: res.status,
    });
  }
  if (res.status === 404) {
    throw new RegistryLookupError(ScanErrorCode.ImageNotFound, `image not found: ${image}`, { status: 404 });
  }
  // A HEAD by digest may omit the header: the digest asked for is the answer.
  const digest = res.headers.get('docker-content-digest') ?? (reference.includes(':') ? reference : null);
  if (!res.ok || !digest) {
    throw new RegistryLookupError(
      ScanErrorCode.Transient,
      `registry answered HTTP ${res.status} for ${image}`,
      {
        status: res.status,
      },
    );
  }
  return digest;
}

async function head(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
  try {
    return await fetch(url, {
      method: 'HEAD',
      headers: { accept: ACCEPT, ...headers },
      signal,
    });
  } catch (cause) {
    throw new RegistryLookupError(ScanErrorCode.Transient, `registry unreachable: ${new URL(url).host}`, {
      cause,
    });
  }
}

/** Builds the Authorization header a 401 challenge asks for, or undefined if we cannot answer it. */
async function authorize(
  challenge: string,
  creds: RegistryCredentials | undefined,
  bound: () => AbortSignal,
): Promise<string | undefined> {
  const basic = creds
    ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
    : undefined;
  if (/^basic/i.test(challenge)) return basic;
  if (!/^bearer/i.test(challenge)) return undefined;
  const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  if (!params.realm) return undefined;
  const tokenUrl = new URL(params.realm);
  if (params.service) tokenUrl.searchParams.set('service', params.service);
  if (params.scope) tokenUrl.searchParams.set('scope', params.scope);
  let res: Response;
  try {
    res = await fetch(tokenUrl, {
      headers: basic ? { authorization: basic } : {},
      signal: bound(),
    });
  } catch (cause) {
    throw new RegistryLookupError(ScanErrorCode.Transient, `token service unreachable: ${tokenUrl.host}`, {
      cause,
    });
  }
  if (!res.ok) return undefined;
  const body = (await res.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  return token ? `Bearer ${token}` : undefined;
}
