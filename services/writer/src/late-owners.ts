import { bounded, type ImageScanResult, type Outcome } from '@fleetscan/bus';
import { type Inventory, type Owner, ownerKey } from '@fleetscan/inventory';
import { ownerReportNames, VULNERABILITY_REPORT } from '@fleetscan/reports';
import type { Logger, Timers } from '@fleetscan/service';
import type { FanoutMemory } from './fanout-memory.ts';
import type { WriterMetrics } from './metrics.ts';

/**
 * A new owner usually gets its own result within seconds; one still without its report this long
 * after the writer saw it is written from a remembered fan-out (at once if that fan-out was asked
 * for after the owner was created: see check()).
 */
export const LATE_OWNER_DELAY_MS = 10_000;

/*
 * The late-owner race, and the writer's part in it (the watcher's part, its re-check after a
 * fan-out, is in services/watcher).
 *
 * An image request answers a namespace, and the writer fans the result out to the owners its own
 * watches know when the result arrives. Under load (thousands of workloads created at once) those
 * watches trail the watcher's: an owner the watcher saw, and whose image it asked for (or found
 * already asked for), may not be known to the writer yet when the answer comes. Nothing else would
 * bring that result back, so the writer keeps two things:
 *
 * - the fan-out memory (fanout-memory.ts): each namespace's last fan-out of an image, for 10 minutes.
 *   An owner the writer's watches see later is written from it here, without another request and
 *   scan: at once when that fan-out's request was made after the owner was created (it is this
 *   owner's answer), else when it still has no report of its own LATE_OWNER_DELAY_MS after.
 * - its trust in its own recent writes (write-queue.ts): a late owner's write and a fan-out (or two
 *   fan-outs of one scan) can meet on one report within the moment the writer's report watch needs
 *   to show its own write; the writer then reads its own write instead of the stale watch, so the
 *   report is applied once, not twice.
 */

export interface LateOwners {
  /** An owner the writer's watches just saw (after their first list): checked LATE_OWNER_DELAY_MS later. */
  appeared(owner: Owner): void;
  /** Checks not yet due. */
  pending(): number;
  /** Cancels the checks not yet due and waits for the running ones. */
  stop(): Promise<void>;
}

/**
 * The images of `owner`'s containers whose VulnerabilityReport its watch does not show as the
 * owner's: missing, or still another owner's (a name reused by a recreated workload).
 */
export function imagesWithoutReport(owner: Owner, inventory: Pick<Inventory, 'report'>): string[] {
  const images = ownerReportNames(owner, owner.containers)
    .containers.filter(({ name }) => {
      const r = inventory.report(VULNERABILITY_REPORT.kind, owner.namespace, name);
      return !r || r.ownerUid !== owner.uid;
    })
    .map(({ container }) => container.image)
    .filter(Boolean);
  return [...new Set(images)];
}

export function createLateOwners(d: {
  inventory: Pick<Inventory, 'ownerByUid' | 'report'>;
  memory: Pick<FanoutMemory, 'recall'>;
  /** Writes `owner`'s reports from `r` alone, as a fan-out to that one owner. */
  writeFrom(r: ImageScanResult, owner: Owner): Promise<Outcome>;
  metrics: Pick<WriterMetrics, 'results'>;
  logger: Logger;
  timers: Timers;
  delayMs?: number;
}): LateOwners {
  const delayMs = d.delayMs ?? LATE_OWNER_DELAY_MS;
  /** Per owner uid, the cancel of its check not yet due. */
  const due = new Map<string, () => void>();
  const running = new Set<Promise<void>>();
  let stopped = false;

  /**
   * `raced`: only the images whose remembered fan-out was asked for at or after the owner was
   * created (creation times are whole seconds: a second's leeway), the one asked for last even if an
   * older ask's answer came after it. That request was made with the owner there (the watcher asked for it, or found it asked for), so
   * its answer is the one this owner waits for: nothing newer is coming, and waiting would only add
   * LATE_OWNER_DELAY_MS to a new workload (seen during a DB update: the writer's watches trailed the
   * scanner's answer, and one new workload in twenty waited 10 s for its VulnerabilityReport).
   */
  async function check(uid: string, raced = false): Promise<void> {
    // The owner as it is now: gone, or changed (its images) since it appeared.
    const owner = d.inventory.ownerByUid(uid);
    if (!owner) return;
    const created = owner.workload?.createdAtMs;
    if (raced && created === undefined) return;
    for (const image of imagesWithoutReport(owner, d.inventory)) {
      const r = d.memory.recall(owner.namespace, image, owner.name, raced ? created : undefined);
      if (!r) continue;
      d.metrics.results.inc({ type: 'image', outcome: 'late_owner' });
      const outcome = await d
        .writeFrom(r, owner)
        .catch((err: unknown): Outcome => ({ kind: 'retry', reason: String(err) }));
      if (outcome.kind !== 'ack') {
        // Nothing retries this here: the watcher asks again for an owner still without its report
        // (its re-check after a fan-out, its resync), and that answer is fanned out to this owner.
        d.logger.warn(
          { owner: ownerKey(owner), image: bounded(image), reason: bounded(outcome.reason) },
          'late owner not written',
        );
      }
    }
  }

  const run = (owner: Owner, raced: boolean) => {
    const p = check(owner.uid, raced)
      .catch((err: unknown) =>
        d.logger.warn({ owner: ownerKey(owner), err: bounded(String(err)) }, 'late owner check failed'),
      )
      .finally(() => running.delete(p));
    running.add(p);
  };

  return {
    appeared(owner) {
      if (stopped) return;
      run(owner, true);
      // Seen again (scaled down and up): it is checked a full delay after the last time.
      due.get(owner.uid)?.();
      const cancel = d.timers.after(delayMs, () => {
        due.delete(owner.uid);
        run(owner, false);
      });
      due.set(owner.uid, cancel);
    },
    pending: () => due.size,
    async stop() {
      stopped = true;
      for (const cancel of due.values()) cancel();
      due.clear();
      await Promise.allSettled([...running]);
    },
  };
}
