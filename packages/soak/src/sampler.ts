import { loadavg } from 'node:os';
import { readMemory } from '@fleetscan/bench';
import { PREFIX, pendingMessages, STREAM_DEAD, STREAM_RESULTS, STREAM_SCAN, subjects } from '@fleetscan/bus';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { SoakSample } from './verdict.ts';

/** Messages waiting in the work queues: requests for the scanners, results for the writers. */
export async function pendingWork(jsm: JetStreamManager): Promise<{ scan: number; results: number }> {
  const [scan, results] = await Promise.all([
    pendingMessages(jsm, STREAM_SCAN, `${PREFIX}.scan.>`),
    pendingMessages(jsm, STREAM_RESULTS, `${PREFIX}.result.>`),
  ]);
  return { scan, results };
}

/** Messages every consumer terminated so far (FLEETSCAN_DEAD keeps 7 days: far longer than a soak). */
export const deadLetters = (jsm: JetStreamManager) => pendingMessages(jsm, STREAM_DEAD, subjects.allDead);

/** One sample: each process's VmRSS from /proc, JetStream's pending work and dead letters, the load. */
export async function takeSample(
  jsm: JetStreamManager,
  processes: readonly { name: string; pid: number }[],
  at: { t: number; live: number; changes: number },
): Promise<SoakSample> {
  const rss: Record<string, number | undefined> = {};
  for (const p of processes) rss[p.name] = readMemory(p.pid)?.rss;
  const [pending, dead] = await Promise.all([pendingWork(jsm), deadLetters(jsm)]);
  return { ...at, rss, pending, dead, load1: Math.round((loadavg()[0] ?? 0) * 10) / 10 };
}
