import type { JsMsg } from '@nats-io/jetstream';

/**
 * Sends in-progress acks for messages we hold, so a long trivy run or a
 * message waiting in a batch is not redelivered to another replica.
 */
export function keepAlive(msgs: readonly JsMsg[], intervalMs: number): () => void {
  const t = setInterval(() => {
    for (const m of msgs) m.working();
  }, intervalMs);
  t.unref();
  return () => clearInterval(t);
}
