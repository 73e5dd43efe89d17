import { STREAM_FLEET } from '@fleetscan/bus';
import type { Clock, Logger, Timers } from '@fleetscan/service';
import { DeliverPolicy, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { decodeFleetMessage } from './decode.ts';
import type { FleetModel } from './model.ts';

export interface IngestDeps {
  js: JetStreamClient;
  model: FleetModel;
  logger: Logger;
  timers: Timers;
  clock: Clock;
  signal: AbortSignal;
  onMessage?(kind: 'inventory' | 'findings' | 'checks' | 'invalid'): void;
  onCaughtUp?(): void;
  /** Messages applied in one transaction at most. */
  batch?: number;
}

/**
 * Reads the fleet stream into the model with an ordered consumer (no state on the server, no
 * acks: the model keeps the last sequence it applied, and a gap makes the client recreate the
 * consumer where it was). It starts after the model's last sequence: 0 for a new or in-memory
 * model, which is a rebuild. Messages are applied in batches, one transaction each, so a
 * rebuild of 30 000 owners is not 30 000 commits; a batch ends when the stream has nothing more
 * pending or after `batch` messages (or 200 ms, whichever comes first).
 */
export async function runIngest(d: IngestDeps): Promise<void> {
  const jsm = await d.js.jetstreamManager(false);
  const info = await jsm.streams.info(STREAM_FLEET);
  const target = info.state.last_seq;
  const from = d.model.lastSeq() + 1;
  let caughtUp = false;
  const markCaughtUp = (seq: number, nothingPending = false) => {
    if (caughtUp || (seq < target && !nothingPending)) return;
    caughtUp = true;
    d.logger.info({ seq, owners: d.model.counts().owners }, 'fleet view caught up with the fleet stream');
    d.onCaughtUp?.();
  };
  markCaughtUp(from - 1, info.state.messages === 0);
  const consumer = await d.js.consumers.get(STREAM_FLEET, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  });
  const messages = await consumer.consume({ max_messages: 1000 });
  d.signal.addEventListener('abort', () => void messages.close(), { once: true });
  const max = d.batch ?? 500;
  let held: JsMsg[] = [];
  let flushTimer: (() => void) | undefined;
  const flush = (nothingPending = false) => {
    flushTimer?.();
    flushTimer = undefined;
    if (held.length === 0) return markCaughtUp(0, nothingPending);
    const batch = held;
    held = [];
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
    // The last message may be gone (an expired tombstone): nothing pending is caught up too.
    markCaughtUp(last, nothingPending);
  };
  for await (const m of messages) {
    held.push(m);
    if (held.length >= max || m.info.pending === 0) flush(m.info.pending === 0);
    else if (!flushTimer) flushTimer = d.timers.after(200, () => flush());
  }
  flush();
}
