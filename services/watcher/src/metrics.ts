import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createWatcherMetrics(registry: Registry) {
  const registers = [registry];
  return {
    objectsSeen: new Counter({
      name: 'fleetscan_watcher_objects_seen_total',
      help: 'Watch events handled, by kind (workload owners and reports) and event type.',
      labelNames: ['kind', 'event'] as const,
      registers,
    }),
    owners: new Gauge({
      name: 'fleetscan_watcher_owners',
      help: 'Report owners currently known.',
      registers,
    }),
    requests: new Counter({
      name: 'fleetscan_watcher_requests_total',
      help: 'Scan requests by type, outcome (published, pending: already asked, duplicate: dropped by JetStream, invalid: past the message limits, e.g. a huge image reference: never sent, skipped: the object to audit changed or went before it was read again, held: the last scan of the image failed and its retry time (the record the writer keeps in the failures bucket) has not come: not sent) and lane (urgent: a change seen while watching; bulk: the first list, resyncs, refreshes).',
      labelNames: ['type', 'outcome', 'lane'] as const,
      registers,
    }),
    publishLatency: new Histogram({
      name: 'fleetscan_watcher_publish_ack_seconds',
      help: 'JetStream publish to ack latency.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    failures: new Counter({
      name: 'fleetscan_watcher_failures_total',
      help: 'Failures by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    reprovisions: new Counter({
      name: 'fleetscan_watcher_reprovisions_total',
      help: "Times the watcher found one of its cluster's buckets gone after start (deleted by an operator) and asked the scanners to provision it again, by the resource found missing: failures (the scan failures bucket), manifests (the manifests bucket). One per episode.",
      labelNames: ['resource'] as const,
      registers,
    }),
    refreshes: new Counter({
      name: 'fleetscan_watcher_refreshes_total',
      help: 'Refresh requests of existing reports by type and reason (settings, ttl, db, recheck).',
      labelNames: ['type', 'reason'] as const,
      registers,
    }),
    refreshQueue: new Gauge({
      name: 'fleetscan_watcher_refresh_queue',
      help: 'Refreshes waiting for their batch.',
      registers,
    }),
    requestMemory: new Gauge({
      name: 'fleetscan_watcher_remembered_requests',
      help: 'Requests the watcher remembers (to tell a pending request from a new one), by state: pending (asked, not answered) or all.',
      labelNames: ['state'] as const,
      registers,
    }),
    requestsForgotten: new Counter({
      name: 'fleetscan_watcher_requests_forgotten_total',
      help: 'Remembered requests dropped, by reason: answered, gone (owner or image left), idle (nothing held back any more), cap (the memory was full: the oldest went early).',
      labelNames: ['reason'] as const,
      registers,
    }),
    inventoryPublished: new Counter({
      name: 'fleetscan_watcher_inventory_published_total',
      help: 'Messages published to the fleet stream for the fleet view, by type: owner, deleted (a tombstone), synced (every owner of the first list is out).',
      labelNames: ['type'] as const,
      registers,
    }),
    inventoryPending: new Gauge({
      name: 'fleetscan_watcher_inventory_pending',
      help: 'Owners whose change waits to be published to the fleet stream.',
      registers,
    }),
    evaluations: new Counter({
      name: 'fleetscan_watcher_evaluations_total',
      help: 'Owners evaluated against their reports.',
      registers,
    }),
  };
}
export type WatcherMetrics = ReturnType<typeof createWatcherMetrics>;
