import type { JetStreamClient } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { bounded } from './retry-policy.ts';
import { subjects } from './subjects.ts';

/** A terminated message, as consume() hands it over. */
export interface DeadLetter {
  consumer: string;
  stream: string;
  subject: string;
  seq: number;
  deliveries: number;
  ending: 'invalid' | 'term' | 'exhausted';
  reason: string;
  data: Uint8Array;
  /** Nats-Msg-Id of the original, if it had one. */
  msgId?: string | undefined;
}

export interface DeadLetters {
  /** Stores the letter (headers + a bounded prefix of its body); rejects when the store fails. */
  keep(letter: DeadLetter): Promise<void>;
}

/** Headers of a dead letter; the body is the original's first `maxBodyBytes` bytes. */
export const DeadLetterHeader = {
  Consumer: 'Fleetscan-Consumer',
  Stream: 'Fleetscan-Stream',
  Subject: 'Fleetscan-Subject',
  Seq: 'Fleetscan-Seq',
  Deliveries: 'Fleetscan-Deliveries',
  Ending: 'Fleetscan-Ending',
  Reason: 'Fleetscan-Reason',
  /** The original's size in bytes; more than the body's when it was cut. */
  Size: 'Fleetscan-Size',
  MsgId: 'Fleetscan-Msg-Id',
} as const;

const DEFAULT_MAX_BODY_BYTES = 16 * 1024;

/**
 * Keeps terminated messages in the dead-letter stream (FLEETSCAN_DEAD, limited by age and bytes,
 * topology.ts) on `fleetscan.dead.<consumer>`, for a person to look at: why it ended and enough of
 * it to tell what it was. Only a prefix of the body is kept, so a hostile 900 KB message costs
 * 16 KiB here; message ids make a letter kept twice (two replicas, a retry) one.
 */
export function createDeadLetters(o: {
  js: JetStreamClient;
  /** How much of a body is kept; 0 keeps headers only. Default 16 KiB. */
  maxBodyBytes?: number;
}): DeadLetters {
  const max = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return {
    async keep(l) {
      const h: MsgHdrs = headers();
      // Header values are single lines of bounded length: they come from the message.
      const line = (s: string, n = 300) => bounded(s.replace(/[\r\n]+/g, ' '), n);
      h.set(DeadLetterHeader.Consumer, l.consumer);
      h.set(DeadLetterHeader.Stream, l.stream);
      h.set(DeadLetterHeader.Subject, line(l.subject, 200));
      h.set(DeadLetterHeader.Seq, String(l.seq));
      h.set(DeadLetterHeader.Deliveries, String(l.deliveries));
      h.set(DeadLetterHeader.Ending, l.ending);
      h.set(DeadLetterHeader.Reason, line(l.reason));
      h.set(DeadLetterHeader.Size, String(l.data.length));
      if (l.msgId) h.set(DeadLetterHeader.MsgId, line(l.msgId, 200));
      await o.js.publish(subjects.dead(l.consumer), l.data.subarray(0, max), {
        headers: h,
        msgID: `dead.${l.stream}.${l.seq}`,
      });
    },
  };
}
