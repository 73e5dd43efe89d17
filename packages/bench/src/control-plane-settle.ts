import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestCounts } from './apiserver-requests.ts';
import { createSettle } from './settled.ts';

/**
 * An existing fleet is a settled one: when fleetscan is installed, the controllers have long
 * finished with the workloads. Right after the benchmark created them, kube-controller-manager is
 * still working through its backlog (status writes, Pods, ControllerRevisions): a new workload's
 * ReplicaSet then waited minutes, which is no load fleetscan made. The cold start begins once the
 * API server has served no controller write for a while.
 */

/** Writes to these resources (and their subresources) are the controllers' work on the fleet. */
const CONTROLLER_RESOURCES = new Set([
  'deployments',
  'replicasets',
  'statefulsets',
  'daemonsets',
  'controllerrevisions',
  'cronjobs',
  'jobs',
  'pods',
]);
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION']);

/** The total of controller writes in a reading of apiserver_request_total (apiserver-requests.ts). */
export function controllerWrites(counts: RequestCounts): number {
  let n = 0;
  for (const [key, v] of Object.entries(counts)) {
    const [verb, resource] = key.split(' ');
    if (!verb || !resource || !WRITES.has(verb)) continue;
    if (CONTROLLER_RESOURCES.has(resource.split('/')[0] ?? '')) n += v;
  }
  return n;
}

/**
 * Waits until the controller writes stand still for `quietMs` (or `maxMs` passed); returns how
 * long it waited and whether it settled. An unreadable /metrics counts as no change.
 */
export async function waitControlPlaneSettled(o: {
  read: () => Promise<RequestCounts | undefined>;
  now: () => number;
  quietMs: number;
  maxMs: number;
  pollMs?: number;
  wait?: (ms: number) => Promise<void>;
}): Promise<{ waitedMs: number; settled: boolean }> {
  const wait = o.wait ?? ((ms: number) => sleep(ms));
  const start = o.now();
  const settle = createSettle({ start, quietMs: o.quietMs, maxMs: o.maxMs });
  let last = '';
  for (;;) {
    const counts = await o.read();
    const sig = counts ? String(controllerWrites(counts)) : last;
    last = sig;
    settle.observe(sig, o.now());
    if (settle.done(o.now())) break;
    await wait(o.pollMs ?? 2000);
  }
  const waitedMs = o.now() - start;
  return { waitedMs, settled: waitedMs < o.maxMs };
}
