import { morePending, readDirectBatch, STREAM_FLEET } from '@fleetscan/bus';
import { type Clock, type Logger, pause, type Timers } from '@fleetscan/service';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { decodeFleetMessage } from './decode.ts';
import type { FleetModel } from './model.ts';

/** What ingest needs of JetStream: the stream's state at start, and batched direct gets by sequence. */
export interface FleetStreamReader {
  streams: Pick<JetStreamManager['streams'], 'info'>;
  direct: Pick<JetStreamManager['direct'], 'getBatch'>;
}

export interface IngestDeps {
  jsm: FleetStreamReader;
  model: FleetModel;
  logger: Logger;
  timers: Timers;
  clock: Clock;
  signal: AbortSignal;
  onMessage?(kind: 'inventory' | 'findings' | 'checks' | 'invalid'): void;
  onCaughtUp?(): void;
  /** Messages read in one direct batch, and so applied in one transaction, at most. */
  batch?: number;
  /** How long to wait before reading again once the stream had nothing more. */
  idleMs?: number;
}

/** Bytes asked for in one direct batch (the server sends at least one message whatever its size). */
const BATCH_BYTES = 8 * 1024 * 1024;
const IDLE_MS = 1000;

/**
 * Reads the fleet stream into the model with batched direct gets by sequence, from the model's
 * last sequence + 1 (0 for a new or in-memory model, which is a rebuild), then keeps polling from
 * the last sequence it applied: at once while a batch leaves messages pending, every `idleMs` once
 * the stream has nothing more. No consumer: the fleet view's identity may create none (a create's
 * body could ask for push delivery to any subject; ARCHITECTURE.md, "Many clusters"), and direct
 * gets leave no state on the server. A direct get returns the first message at or after the
 * sequence asked for, so what the stream dropped (a subject's older message, an expired tombstone)
 * is skipped without a gap to handle. Any replica may answer; one that lags only delays a message.
 *
 * Each batch is applied in one transaction, so a rebuild of 30 000 owners is not 30 000 commits.
 * Caught up: the model reached where the stream ended at start, or the stream has nothing more
 * (its last message may be gone). A failed read throws; the caller starts again where the model
 * stopped.
 */
export async function runIngest(d: IngestDeps): Promise<void> {
  const info = await d.jsm.streams.info(STREAM_FLEET);
  const target = info.state.last_seq;
  let next = d.model.lastSeq() + 1;
  let caughtUp = false;
  const markCaughtUp = (seq: number, nothingPending: boolean) => {
    if (caughtUp || (seq < target && !nothingPending)) return;
    caughtUp = true;
    d.logger.info({ seq, owners: d.model.counts().owners }, 'fleet view caught up with the fleet stream');
    d.onCaughtUp?.();
  };
  markCaughtUp(next - 1, info.state.messages === 0);
  const max = d.batch ?? 500;
  while (!d.signal.aborted) {
    const batch = await readDirectBatch(d.jsm.direct, STREAM_FLEET, next, max, BATCH_BYTES);
    if (d.signal.aborted) return;
    if (batch.length > 0) next = apply(d, batch) + 1;
    const more = morePending(batch, max);
    markCaughtUp(next - 1, !more);
    if (!more) await pause(d.timers, d.idleMs ?? IDLE_MS, d.signal);
  }
}

/** Applies a batch in one transaction; returns the last sequence applied. */
function apply(d: IngestDeps, batch: readonly StoredMsg[]): number {
  let last = 0;
  d.model.transaction(() => {
    for (const m of batch) {
      const decoded = decodeFleetMessage(m.subject, m.data);
      d.onMessage?.(decoded.kind);
      if (decoded.kind === 'inventory') d.model.applyInventory(decoded.message);
      else if (decoded.kind === 'findings') d.model.applyFindings(decoded.message);
      else if (decoded.kind === 'checks') d.model.applyChecks(decoded.message);
      // Invalid messages are counted and skipped: the stream keeps them, and they are poison every time.
      else
        d.logger.warn(
          { subject: m.subject.slice(0, 200), seq: m.seq, reason: decoded.reason },
          'invalid fleet message',
        );
      last = m.seq;
    }
    d.model.setLastSeq(last, d.clock.now().getTime());
  });
  return last;
}
