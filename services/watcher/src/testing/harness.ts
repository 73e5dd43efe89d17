import { failureKey, type Lane, laneOf, type ScanFailureRecord } from '@fleetscan/bus';
import { OWNER_KINDS, ownerManifest } from '@fleetscan/inventory';
import { auditReports } from '@fleetscan/reports';
import { createLogger } from '@fleetscan/service';
import { Registry } from 'prom-client';
import { createAsks } from '../asks.ts';
import { createFailureHolds } from '../failure-holds.ts';
import { createScope } from '../filters.ts';
import { createWatcherMetrics } from '../metrics.ts';
import type { OwnerSettings } from '../owner-settings.ts';
import { createRequestPublisher } from '../requests.ts';
import { createScheduler, type SchedulerTiming } from '../scheduler.ts';
import { createFakeCluster } from './fake-cluster.ts';
import { fakeJetStream } from './fake-jetstream.ts';
import { createFakeTime } from './fake-time.ts';

export const START = Date.parse('2026-01-01T00:00:00Z');

/**
 * The watcher's decisions with everything but time and the wire real: the scheduler, the request
 * publisher and its memory, the asks and their metrics — over an in-memory cluster (the inventory's
 * view, set by the test), a fake clock, and a fake JetStream that dedupes ids like the stream does.
 */
export function createHarness(
  opts: { timing?: Partial<SchedulerTiming>; retryAfterMs?: number; settings?: OwnerSettings } = {},
) {
  const time = createFakeTime(START);
  const cluster = createFakeCluster();
  const jet = fakeJetStream({ now: () => time.nowMs });
  const registry = new Registry();
  const metrics = createWatcherMetrics(registry);
  const hashes = { scanConfigHash: 'scan1', pluginConfigHash: 'plug1' };
  // Every owner alike unless a test brings real per-owner settings.
  const settings: OwnerSettings = opts.settings ?? {
    of: () => ({ settings: {}, scanConfigHash: hashes.scanConfigHash, variant: hashes.scanConfigHash }),
    configAudit: { checkIds: 'short' },
    pluginConfigHash: hashes.pluginConfigHash,
    secrets: false,
  };
  const publisher = createRequestPublisher({
    js: jet.js,
    cluster: 'c1',
    now: () => time.now(),
    retryAfterMs: opts.retryAfterMs ?? 600_000,
    onForget: (reason, n) => metrics.requestsForgotten.inc({ reason }, n),
  });
  // The writer's failure records, as the failures bucket's view would show them (set by the test).
  const failures = new Map<string, ScanFailureRecord>();
  const holds = createFailureHolds({
    records: { get: (namespace, image) => failures.get(failureKey(namespace, image)) },
    clock: time,
    timers: time,
    onDue: (namespace, image) => scheduler.imageDue(namespace, image),
  });
  const scheduler = createScheduler({
    clock: time,
    timers: time,
    inventory: cluster.index,
    scope: createScope({
      namespacesInclude: [],
      namespacesExclude: [],
      kinds: OWNER_KINDS,
      auditKinds: OWNER_KINDS,
      infra: true,
      skipLabels: [],
      excludeImages: [],
      initContainers: true,
      ephemeralContainers: true,
    }),
    settings,
    requests: publisher,
    asks: createAsks({
      publisher,
      credentials: { sealedFor: async () => undefined },
      manifests: async (o) => ownerManifest(o),
      blobs: { put: async () => {} },
      auditReports: (o) => auditReports(o, { infra: true }),
      cluster: 'c1',
      scanners: ['vuln'],
      settings,
      metrics,
      holds,
    }),
    timing: {
      resyncMs: 300_000,
      tagRecheckMs: 0,
      refresh: { batchSize: 100, intervalMs: 10_000 },
      ...opts.timing,
    },
    logger: createLogger({ service: 'test', level: 'silent' }),
    metrics,
  });
  cluster.connect(scheduler);
  // `fleetscan.scan[.bulk].<type>.<cluster>`: the type is the next to last token, in either lane.
  const sentTo = (type: 'image' | 'config', lane?: Lane) =>
    jet.sent.filter(
      (m) => m.subject.split('.').at(-2) === type && (lane === undefined || laneOf(m.subject) === lane),
    );
  return {
    time,
    cluster,
    jet,
    publisher,
    scheduler,
    metrics,
    registry,
    hashes,
    holds,
    /** Records the writer's failure for an image in a namespace (undefined: removes it). */
    setFailure(namespace: string, image: string, r: Partial<ScanFailureRecord> | undefined) {
      if (!r) {
        failures.delete(failureKey(namespace, image));
        return;
      }
      const record: ScanFailureRecord = {
        v: 1,
        image,
        namespace,
        code: 'NOT_FOUND',
        message: 'manifest unknown',
        permanent: true,
        failures: 1,
        firstFailedAt: new Date(time.nowMs).toISOString(),
        lastFailedAt: new Date(time.nowMs).toISOString(),
        retryAt: new Date(time.nowMs + 60_000).toISOString(),
        ...r,
      };
      failures.set(failureKey(namespace, image), record);
      holds.recorded(record);
    },
    imageRequests: (lane?: Lane) => sentTo('image', lane),
    configRequests: (lane?: Lane) => sentTo('config', lane),
  };
}
export type Harness = ReturnType<typeof createHarness>;
