import type { IncomingMessage } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { parsePrometheus } from './prom.ts';
import { apiserverTarget, serverGet } from './server-get.ts';

/** kube-apiserver's request counters, "VERB resource" → count (apiserver_request_total). */
export type RequestCounts = Record<string, number>;

export async function apiserverRequests(kc: KubeConfig): Promise<RequestCounts | undefined> {
  const text = await serverGet(apiserverTarget(kc), '/metrics', 10_000)
    .then(readText)
    .catch(() => undefined);
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

async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
