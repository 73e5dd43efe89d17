import { backoff, pause, systemTimers, type Timers } from '@fleetscan/service';
import { decode } from './codec.ts';
import { ProvisionReplySchema } from './provision-protocol.ts';
import { bounded } from './retry-policy.ts';
import { subjects } from './subjects.ts';

/** What the request needs of a NATS connection (a fake at the wire in tests). */
export interface ProvisionRequester {
  request(subject: string, payload: string, opts: { timeout: number }): Promise<{ data: Uint8Array }>;
}

/**
 * How long one request waits for a scanner's answer (ensuring takes a few API calls). An answer can
 * be lost: a NATS configuration reload (a cluster's users added) between a scanner's receipt and its
 * reply drops the response permission allow_responses gave it, and the server refuses the reply
 * (Publish Violation on the asker's inbox). Seen in CI: a watcher and a writer waited the whole
 * 20 s this was, once past a test's 90 s. Asked again, a request joins the run already ensuring.
 */
export const PROVISION_REQUEST_TIMEOUT_MS = 5_000;

/**
 * A watcher's or writer's side of provisioning: asks the scanners for its cluster's resources on
 * `fleetscan.provision.<cluster>` (the only provisioning subject its identity may publish) until
 * one answers ok, with backoff and jitter between attempts (0.5 s doubling to 10 s), telling
 * `onWaiting` why it waits — no scanner running yet is the same as waiting for the streams, a
 * reason in /readyz. Returns true once provisioned, false as soon as `signal` aborts, even while a
 * request is out, so it never holds up a shutdown.
 */
export async function requestProvision(d: {
  nc: ProvisionRequester;
  cluster: string;
  signal?: AbortSignal;
  onWaiting?(reason: string): void;
  timers?: Timers;
  random?: () => number;
  timeoutMs?: number;
}): Promise<boolean> {
  const subject = subjects.provision(d.cluster);
  const timeout = d.timeoutMs ?? PROVISION_REQUEST_TIMEOUT_MS;
  const timers = d.timers ?? systemTimers;
  const signal = d.signal ?? new AbortController().signal;
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) return false;
    let reason: string;
    try {
      const m = await untilAborted(d.nc.request(subject, '', { timeout }), signal);
      if (m === ABORTED) return false;
      const r = decode(ProvisionReplySchema, m.data);
      if (r.ok) return true;
      reason = `the scanners could not provision ${d.cluster}: ${r.error}`;
    } catch (err) {
      if (signal.aborted) return false;
      reason = whyUnanswered(err, subject, timeout);
    }
    d.onWaiting?.(reason);
    await pause(timers, backoff(attempt, 500, 10_000, d.random), signal);
  }
}

const ABORTED = Symbol('aborted');

function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  let onAbort = () => {};
  const aborted = new Promise<typeof ABORTED>((resolve) => {
    onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  // A request left behind by an abort still settles (its timeout): nothing may reject unheard.
  p.catch(() => {});
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** A failed request as /readyz says it; nats.js wraps no-responders and timeouts as a cause. */
function whyUnanswered(err: unknown, subject: string, timeoutMs: number): string {
  for (let e = err as { name?: string; message?: string; cause?: unknown } | undefined; e; ) {
    if (e.name === 'NoResponders') return `waiting for a scanner to answer ${subject} (none running)`;
    if (e.name === 'TimeoutError') return `no scanner answered ${subject} within ${timeoutMs / 1000} s`;
    e = e.cause as typeof e;
  }
  return `asking ${subject} failed: ${bounded(String((err as Error)?.message ?? err), 200)}`;
}
