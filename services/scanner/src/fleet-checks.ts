import {
  type ConfigAuditData,
  type ConfigAuditRequest,
  FINDINGS_TTL,
  MAX_FLEET_CHECKS,
  type OwnerChecks,
  OwnerChecksSchema,
  subjects,
  UID_TOKEN_PATTERN,
} from '@fleetscan/bus';
import { severityRank } from '@fleetscan/reports';
import type { JetStreamClient } from '@nats-io/jetstream';

const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);

/**
 * The fleet stream's message of an owner's audit (pure): its failed checks, each once, most severe
 * first, at most MAX_FLEET_CHECKS (the rest counted). Undefined for an owner whose uid cannot be a
 * subject token (the fleet view could not join it to the inventory anyway).
 */
export function buildChecks(
  req: Pick<ConfigAuditRequest, 'cluster' | 'owner'>,
  data: Pick<ConfigAuditData, 'checks' | 'scannedAt'>,
  now: Date,
): OwnerChecks | undefined {
  if (!UID_TOKEN_PATTERN.test(req.owner.uid)) return undefined;
  const failed = new Map<string, OwnerChecks['failed'][number]>();
  for (const c of data.checks) {
    if (c.success || !c.checkID || failed.has(c.checkID)) continue;
    failed.set(c.checkID, { id: cut(c.checkID, 64), severity: c.severity, title: cut(c.title ?? '', 256) });
  }
  const all = [...failed.values()].sort(
    (a, b) => severityRank(a.severity) - severityRank(b.severity) || a.id.localeCompare(b.id),
  );
  return {
    v: 1,
    cluster: req.cluster,
    uid: req.owner.uid,
    kind: req.owner.kind,
    namespace: req.owner.namespace,
    name: req.owner.name,
    failed: all.slice(0, MAX_FLEET_CHECKS),
    omitted: Math.max(0, all.length - MAX_FLEET_CHECKS),
    scannedAt: new Date(data.scannedAt).toISOString(),
    publishedAt: now.toISOString(),
  };
}

export interface ChecksPublisher {
  publish(
    req: Pick<ConfigAuditRequest, 'cluster' | 'owner'>,
    data: ConfigAuditData,
    now: Date,
  ): Promise<void>;
}

/** Publishes an owner's failed checks to the fleet stream: the subject keeps the latest audit. */
export function createChecksPublisher(js: JetStreamClient): ChecksPublisher {
  return {
    async publish(req, data, now) {
      const message = buildChecks(req, data, now);
      if (!message) return;
      await js.publish(
        subjects.checks(message.uid, message.cluster),
        JSON.stringify(OwnerChecksSchema.parse(message)),
        {
          ttl: FINDINGS_TTL,
        },
      );
    },
  };
}
