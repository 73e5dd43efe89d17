import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { parsePrometheus } from './prom.ts';

/** kube-apiserver's request counters, "VERB resource" → count (apiserver_request_total). */
export type RequestCounts = Record<string, number>;

export async function apiserverRequests(kc: KubeConfig): Promise<RequestCounts | undefined> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) return undefined;
  const opts: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(opts);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(new URL('/metrics', server), { ...opts, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  }).catch(() => undefined);
  if (text === undefined) return undefined;
  const out: RequestCounts = {};
  for (const s of parsePrometheus(text)) {
    if (s.name !== 'apiserver_request_total') continue;
    const sub = s.labels.subresource ? `/${s.labels.subresource}` : '';
    const key = `${s.labels.verb} ${s.labels.resource}${sub}`;
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** Requests made between two readings, largest first; WATCH counts connections, not events. */
export function requestDelta(a: RequestCounts | undefined, b: RequestCounts | undefined): RequestCounts {
  if (!a || !b) return {};
  return Object.fromEntries(
    Object.entries(b)
      .map(([k, v]) => [k, v - (a[k] ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .sort((x, y) => y[1] - x[1]),
  );
}
