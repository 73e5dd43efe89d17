import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConnection } from './connection.ts';
import { classifyKubeError, isKubeError, KubeError, KubeErrorCode, responseError } from './errors.ts';

export type Query = Record<string, string | number | boolean | undefined>;

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute API path, e.g. /api/v1/namespaces/x/secrets/y; names must already be encoded. */
  path: string;
  query?: Query;
  /** Sent as JSON text (a string or Buffer as it is). */
  body?: unknown;
  /** Default application/json when there is a body (server-side apply: application/apply-patch+yaml). */
  contentType?: string;
  /** Default application/json; the metadata-only forms ask for PartialObjectMetadata. */
  accept?: string;
}

/** JSON, as PartialObjectMetadataList (LIST) and PartialObjectMetadata (WATCH events): metadata only. */
export const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const ACCEPT_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/**
 * Plain HTTP against the API server with the connection's TLS, auth and keep-alive agent. Lists and
 * watches go through here rather than generated clients: those deserialise every item into model
 * classes (with Date objects) and keep the whole page around, where we want plain JSON to project
 * and drop; writes are a handful of known calls.
 */
export interface KubeTransport {
  /** GET and parse JSON; non-2xx becomes a classified KubeError. */
  getJson(path: string, query: Query, signal: AbortSignal, accept?: string): Promise<unknown>;
  /** GET and return the open 200 response for streaming (watch); non-2xx becomes a KubeError. */
  openStream(path: string, query: Query, signal: AbortSignal, accept?: string): Promise<IncomingMessage>;
  /** Any request; the parsed JSON answer (undefined for an empty one). Non-2xx becomes a KubeError. */
  request(req: KubeRequest, signal: AbortSignal): Promise<unknown>;
}

/** Error bodies are small Status objects; cap what we read of anything else. */
const MAX_ERROR_BODY = 64 * 1024;

export function createTransport(conn: KubeConnection): KubeTransport {
  async function send(req: KubeRequest, signal: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(conn.server + req.path);
    for (const [k, v] of Object.entries(req.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    let opts: Awaited<ReturnType<KubeConnection['requestOptions']>>;
    try {
      // Per request, not once: token files and exec credentials rotate.
      opts = await conn.requestOptions();
    } catch (err) {
      if (isKubeError(err)) throw err;
      throw new KubeError(KubeErrorCode.Config, `credentials of ${conn.source}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const body =
      req.body === undefined
        ? undefined
        : typeof req.body === 'string' || Buffer.isBuffer(req.body)
          ? Buffer.from(req.body)
          : Buffer.from(JSON.stringify(req.body));
    const headers = {
      ...opts.headers,
      accept: req.accept ?? 'application/json',
      'user-agent': 'fleetscan-kube',
      ...(body && { 'content-type': req.contentType ?? 'application/json', 'content-length': body.length }),
    };
    const httpOrHttps = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const once = () =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const r = httpOrHttps(url, { ...opts, method: req.method, headers, signal }, resolve);
        r.on('error', (err: NodeJS.ErrnoException) => {
          // A kept-alive socket the server closed while idle: the request never reached it.
          reject(Object.assign(err, { staleSocket: r.reusedSocket && err.code === 'ECONNRESET' }));
        });
        r.end(body);
      });
    let res: IncomingMessage;
    try {
      res = await once().catch((err: { staleSocket?: boolean }) => {
        if (err.staleSocket && !signal.aborted) return once();
        throw err;
      });
    } catch (err) {
      throw classifyKubeError(err);
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const text = await readBody(res, MAX_ERROR_BODY).catch(() => '');
    if (status === 401) conn.invalidate();
    throw responseError({ method: req.method, path: url.pathname, status, body: text, headers: res.headers });
  }

  async function request(req: KubeRequest, signal: AbortSignal): Promise<unknown> {
    const res = await send(req, signal);
    let text: string;
    try {
      text = await readBody(res, Number.POSITIVE_INFINITY);
    } catch (err) {
      throw classifyKubeError(err);
    }
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new KubeError(KubeErrorCode.Transient, `${req.method} ${req.path}: response is not JSON`, {
        cause: err,
      });
    }
  }

  return {
    getJson: (path, query, signal, accept) =>
      request({ method: 'GET', path, query, ...(accept && { accept }) }, signal),
    openStream: (path, query, signal, accept) =>
      send({ method: 'GET', path, query, ...(accept && { accept }) }, signal),
    request,
  };
}

async function readBody(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    const buf = chunk as Buffer;
    if (size < limit) chunks.push(buf);
    size += buf.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
