import type { JetStreamClient } from '@nats-io/jetstream';

export interface SentMessage {
  subject: string;
  msgID: string;
  body: Record<string, unknown>;
}

/**
 * A fake at the wire: records what would go to JetStream and drops a repeated Nats-Msg-Id inside the
 * duplicate window, as the stream does. `failNext` makes the next publishes fail.
 */
export function fakeJetStream(opts: { now?: () => number; duplicateWindowMs?: number } = {}) {
  const sent: SentMessage[] = [];
  const seen = new Map<string, number>();
  const window = opts.duplicateWindowMs ?? 120_000;
  const now = opts.now ?? (() => 0);
  let failures = 0;
  const js = {
    publish: async (subject: string, data: Uint8Array, o: { msgID: string }) => {
      if (failures > 0) {
        failures--;
        throw new Error('TIMEOUT');
      }
      const at = seen.get(o.msgID);
      const duplicate = at !== undefined && now() - at < window;
      if (!duplicate) {
        seen.set(o.msgID, now());
        sent.push({ subject, msgID: o.msgID, body: JSON.parse(new TextDecoder().decode(data)) });
      }
      return { duplicate, seq: sent.length, stream: 'S' };
    },
  } as unknown as JetStreamClient;
  return {
    js,
    sent,
    failNext(n = 1) {
      failures = n;
    },
  };
}
