import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { classifyKubeError, KubeError, KubeErrorCode } from './errors.ts';

export type Query = Record<string, string | number | boolean | undefined>;

/**
 * Raw GETs against the API server with the KubeConfig's TLS and auth applied. Lists and watches go
 * through here rather than the generated clients: those deserialise every item into model classes
 * (with Date objects) and keep the whole page around, where we want plain JSON to project and drop.
 */
export interface KubeTransport {
  /** GET and parse JSON; non-2xx becomes a classified KubeError. */
  getJson(path: string, query: Query, signal: AbortSignal): Promise<unknown>;
  /** GET and return the open 200 response for streaming (watch); non-2xx becomes a KubeError. */
  openStream(path: string, query: Query, signal: AbortSignal): Promise<IncomingMessage>;
}

/** Error bodies are small Status objects; cap what we read of anything else. */
const MAX_ERROR_BODY = 64 * 1024;

export function createTransport(kc: KubeConfig): KubeTransport {
  async function open(path: string, query: Query, signal: AbortSignal): Promise<IncomingMessage> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new KubeError(KubeErrorCode.Config, 'kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const opts: RequestOptions = {};
    try {
      // Per request, not once: exec, OIDC and token-file credentials refresh here.
      await kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new KubeError(
        KubeErrorCode.Config,
        `applying kubeconfig credentials: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    opts.headers = { ...opts.headers, accept: 'application/json', 'user-agent': 'fleetscan-kube' };
    const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, { ...opts, method: 'GET', signal }, resolve);
      req.on('error', reject);
      req.end();
    }).catch((err: unknown) => {
      throw classifyKubeError(err);
    });
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const body = await readBody(res, MAX_ERROR_BODY).catch(() => '');
    throw classifyKubeError(new ApiException(status, `GET ${url.pathname}`, body, flatHeaders(res)));
  }

  return {
    async getJson(path, query, signal) {
      const res = await open(path, query, signal);
      let text: string;
      try {
        text = await readBody(res, Number.POSITIVE_INFINITY);
      } catch (err) {
        throw classifyKubeError(err);
      }
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new KubeError(KubeErrorCode.Transient, `GET ${path}: response is not JSON`, { cause: err });
      }
    },
    openStream: open,
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

function flatHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
