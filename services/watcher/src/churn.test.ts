import { createHash } from 'node:crypto';
import { type Owner, ownerKey } from '@fleetscan/inventory';
import { auditReports } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import { isUrgent, planOwner } from './plan.ts';
import { testOwner } from './testing/fake-cluster.ts';
import type { SentMessage } from './testing/fake-jetstream.ts';
import { createHarness, type Harness } from './testing/harness.ts';
import { seededRandom } from './testing/random.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NAMESPACES = 8;
const FLEET = 150;
const REPORT_TTL_SECONDS = 2 * 3600;

/**
 * A day of a busy cluster through the real scheduler and request publisher, on a fake clock: owners
 * created, rolled out, changed in place and deleted every minute, reports deleted, tags re-pushed, a
 * new trivy DB every 6 hours, reports expiring every 2 hours, tag re-checks every hour, and a writer
 * that answers most requests within seconds, loses some, misses owners it has not seen yet, and
 * writes nothing when a re-check changes nothing.
 */
function simulate(h: Harness, random: () => number) {
  let uids = 0;
  let db = 1;
  const digests = new Map<string, string>();
  const imageOf = () => `r/app${Math.floor(random() * 20)}:${1 + Math.floor(random() * 3)}`;
  // Digests as registries make them: request schemas refuse anything else.
  const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
  const digestOf = (image: string) => digests.get(image) ?? digest(`${image}-0`);
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(random() * xs.length)];
  const createdAt = new Map<string, number>();

  const newOwner = (namespace = `ns${Math.floor(random() * NAMESPACES)}`) => {
    const uid = `u${uids++}`;
    const images = random() < 0.3 ? [imageOf(), imageOf()] : [imageOf()];
    const o = testOwner({ namespace, name: `rs-${uid}`, uid, images, specHash: `spec-${uid}` });
    createdAt.set(uid, h.time.nowMs);
    h.cluster.putOwner(o);
    return o;
  };

  const churn = () => {
    const owners = h.cluster.index.owners();
    // Created, keeping the fleet around its size.
    for (let i = owners.length; i < FLEET + 10 && random() < 0.8; i++) newOwner();
    // Rolled out: a new ReplicaSet (new uid, often a new image), the old one goes.
    for (let i = 0; i < 2; i++) {
      const old = pick(h.cluster.index.owners());
      if (!old) continue;
      newOwner(old.namespace);
      h.cluster.deleteOwner(ownerKey(old));
    }
    // Changed in place (a StatefulSet): same uid, a new pod spec.
    const inPlace = pick(h.cluster.index.owners());
    if (inPlace) {
      const images = inPlace.containers.map((c) => (random() < 0.5 ? imageOf() : c.image));
      h.cluster.putOwner(testOwner({ ...inPlace, images, specHash: `spec-${inPlace.uid}-${h.time.nowMs}` }));
    }
    // Deleted.
    for (let i = 0; i < 2 && h.cluster.index.owners().length > FLEET - 10; i++) {
      const o = pick(h.cluster.index.owners());
      if (o) h.cluster.deleteOwner(ownerKey(o));
    }
    // A report deleted by hand.
    if (random() < 0.3) {
      const r = pick([...h.cluster.reports.values()]);
      if (r) h.cluster.deleteReport(r.kind, r.namespace, r.name);
    }
  };

  /** The writer's part: what a result does to the reports. */
  const answer = (m: SentMessage, lossRate: number) => {
    if (random() < lossRate) return;
    const body = m.body as Record<string, unknown>;
    const now = h.time.nowMs;
    if (m.subject.split('.').at(-2) === 'config') {
      const uid = (body.owner as { uid: string }).uid;
      const o = h.cluster.index.ownerByUid(uid);
      if (!o || o.specHash !== body.specHash) return;
      h.cluster.putReport(
        h.cluster.configReport(o, h.hashes.pluginConfigHash, {
          updatedAtMs: now,
          ttlSeconds: REPORT_TTL_SECONDS,
        }),
      );
      return;
    }
    const image = String(body.image);
    const digest = typeof body.digest === 'string' ? body.digest : digestOf(image);
    const notBefore = typeof body.notBefore === 'string' ? Date.parse(body.notBefore) : 0;
    for (const o of h.cluster.index.ownersUsingImage(image)) {
      if (o.namespace !== body.namespace) continue;
      // The writer's watches trail: an owner created seconds ago is often not seen yet.
      if (now - (createdAt.get(o.uid) ?? 0) < 15_000 && random() < 0.5) continue;
      for (const c of o.containers) {
        if (c.image !== image) continue;
        const next = h.cluster.vulnReport(o, c.name, {
          scanConfigHash: h.hashes.scanConfigHash,
          updatedAtMs: now,
          ttlSeconds: REPORT_TTL_SECONDS,
          dbUpdatedAt: `db${db}`,
          artifact: { registry: 'r', repository: image, tag: '1', digest },
        });
        const cur = h.cluster.index.report(next.kind, next.namespace, next.name);
        const unchanged =
          cur &&
          cur.ownerUid === next.ownerUid &&
          cur.specHash === next.specHash &&
          cur.dbUpdatedAt === next.dbUpdatedAt &&
          cur.artifact?.digest === digest &&
          (cur.updatedAtMs ?? 0) >= notBefore;
        // An unchanged rewrite is skipped: no event, so such a request is never answered by one.
        if (!unchanged) h.cluster.putReport(next);
      }
    }
  };

  return {
    churn,
    answer,
    newOwner,
    newDb() {
      db++;
      h.scheduler.dbVersion(`db${db}`);
    },
    repushTags() {
      for (let i = 0; i < 3; i++) {
        const image = imageOf();
        digests.set(image, digest(`${image}-${h.time.nowMs}`));
      }
    },
    /** Owners still lacking a current report (urgent work left undone). */
    waiting(): Owner[] {
      return h.cluster.index.owners().filter((o) => {
        const plan = planOwner(o, o.containers, auditReports(o, { infra: true }), h.cluster.index.report, {
          hashes: h.hashes,
          nowMs: h.time.nowMs,
          secrets: false,
          dbUpdatedAt: `db${db}`,
        });
        return (plan.config && isUrgent(plan.config)) || plan.images.some((n) => isUrgent(n.reason));
      });
    },
  };
}

describe('a day of churn through the scheduler', () => {
  it('keeps the request memory and every queue bounded, and still converges', async () => {
    const h = createHarness({
      timing: { resyncMs: 300_000, tagRecheckMs: HOUR, refresh: { batchSize: 100, intervalMs: 10_000 } },
      retryAfterMs: 600_000,
    });
    const random = seededRandom(2026);
    const sim = simulate(h, random);
    for (let i = 0; i < FLEET; i++) sim.newOwner();
    h.scheduler.synced();
    h.scheduler.dbVersion('db1');

    let answered = 0;
    let peak = 0;
    const hourly: { remembered: number; peak: number; owners: number; keysEver: number }[] = [];
    const keysEver = new Set<string>();
    const step = async (ms: number, lossRate: number) => {
      await h.time.advance(ms);
      for (const m of h.jet.sent.slice(answered)) {
        keysEver.add(m.msgID.slice(0, m.msgID.lastIndexOf('#')));
        sim.answer(m, lossRate);
      }
      answered = h.jet.sent.length;
      peak = Math.max(peak, h.publisher.remembered.size);
    };

    for (let minute = 1; minute <= 24 * 60; minute++) {
      sim.churn();
      if (minute % 360 === 0) sim.newDb();
      if (minute % 120 === 0) sim.repushTags();
      for (let s = 0; s < 6; s++) await step(10_000, 0.1);
      if (minute % 60 === 0) {
        hourly.push({
          remembered: h.publisher.remembered.size,
          peak,
          owners: h.cluster.owners.size,
          keysEver: keysEver.size,
        });
        peak = 0;
        const held = h.scheduler.held;
        expect(held.dirty).toBeLessThanOrEqual(h.cluster.owners.size);
        // At most one re-check per image (20 repositories × 3 tags) in a namespace.
        expect(held.sharerRechecks).toBeLessThanOrEqual(NAMESPACES * 60);
        expect(held.publishRetries).toBe(0);
        // Each queued refresh is one image in a namespace (or an owner's config) and one trigger.
        expect(held.refreshQueue).toBeLessThanOrEqual(4 * h.cluster.owners.size);
        // Timers: resync, tag re-check, sweep, refresh batches, a pass, and the re-checks.
        expect(h.time.timers).toBeLessThanOrEqual(5 + held.sharerRechecks);
      }
    }
    const trace = hourly.map((x) => JSON.stringify(x)).join('\n');

    // Bounded: the memory holds what was asked in the last minutes, not every request of the day
    // (each refresh purpose, spec hash and tag re-check is a key of its own).
    const max = Math.max(...hourly.map((x) => x.peak));
    const keys = hourly.at(-1)?.keysEver ?? 0;
    expect(keys, trace).toBeGreaterThan(20 * max);
    // At its fullest: a config audit per owner, plus a tag re-check and a DB refresh per image in a
    // namespace (fewer than the owners) still inside the duplicate window.
    expect(max, trace).toBeLessThanOrEqual(3 * (FLEET + 10));
    // And flat: the last six hours hold no more than the first six.
    const firstQuarter = Math.max(...hourly.slice(0, 6).map((x) => x.peak));
    const lastQuarter = Math.max(...hourly.slice(-6).map((x) => x.peak));
    expect(lastQuarter, trace).toBeLessThanOrEqual(firstQuarter * 1.5);

    // Still converging: with churn stopped and answers no longer lost, every owner gets its reports.
    for (let s = 0; s < 6 * 30; s++) await step(10_000, 0);
    expect(sim.waiting().map(ownerKey)).toEqual([]);
    await h.scheduler.stop();
    expect(h.time.timers).toBe(0);
  }, 60_000);
});
