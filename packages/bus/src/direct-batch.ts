import type { DirectStreamAPI, StoredMsg } from '@nats-io/jetstream';
import { isNotFound } from './topology.ts';

/**
 * Up to `batch` messages of `stream` from sequence `seq` on, read with one batched direct get (no
 * consumer: nothing is left on the server, and an identity needs no right to create one); none
 * when the stream holds nothing at or after `seq`. A direct get returns the first message at or
 * after the sequence asked for, so what the stream dropped is skipped; any replica may answer, and
 * one that lags only delays a message. Each message's `pending` says how many follow it.
 */
export async function readDirectBatch(
  direct: Pick<DirectStreamAPI, 'getBatch'>,
  stream: string,
  seq: number,
  batch: number,
  maxBytes: number,
): Promise<StoredMsg[]> {
  const out: StoredMsg[] = [];
  try {
    const messages = await direct.getBatch(stream, { seq, batch, max_bytes: maxBytes });
    for await (const m of messages) out.push(m);
  } catch (err) {
    // "message not found": nothing at or after seq (yet).
    if (!(out.length === 0 && isNotFound(err))) throw err;
  }
  return out;
}

/** Whether more messages wait after a batch: the server said so, or the batch was full. */
export function morePending(batch: readonly StoredMsg[], max: number): boolean {
  const last = batch.at(-1);
  return last !== undefined && (last.pending > 0 || batch.length >= max);
}
