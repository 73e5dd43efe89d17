import { readFileSync } from 'node:fs';
import { startStack } from '@fleetscan/stack';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const cpu = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const stack = await startStack({});
try {
  const nats = stack.processes.find((p) => p.name === 'nats-server')!;
  const nc = await connect({ servers: stack.natsUrl });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'Q', subjects: ['q.>'], retention: RetentionPolicy.Workqueue });
  await jsm.consumers.add('Q', {
    durable_name: 'c',
    ack_policy: AckPolicy.Explicit,
    ack_wait: 60_000_000_000,
  });
  const n = 500;
  const payload = new Uint8Array(800).fill(66);
  const measure = async (label: string, fn: () => Promise<void>) => {
    const c0 = cpu(nats.pid);
    const t0 = Date.now();
    await fn();
    console.log(
      label.padEnd(30),
      n,
      'msgs',
      ((Date.now() - t0) / n).toFixed(2),
      'ms each,',
      (((cpu(nats.pid) - c0) / n) * 1000).toFixed(3),
      'ms nats CPU each',
    );
  };
  await measure('publish (await ack)', async () => {
    for (let i = 0; i < n; i++) await js.publish('q.a', payload);
  });
  const c = await js.consumers.get('Q', 'c');
  await measure('next() + ack', async () => {
    for (let i = 0; i < n; i++) {
      const m = await c.next({ expires: 2000 });
      m?.ack();
    }
  });
  for (let i = 0; i < n; i++) await js.publish('q.a', payload);
  await measure('fetch(100) + ack', async () => {
    let got = 0;
    while (got < n) {
      const it = await c.fetch({ max_messages: 100, expires: 2000 });
      for await (const m of it) {
        m.ack();
        got++;
      }
    }
  });
  for (let i = 0; i < n; i++) await js.publish('q.a', payload);
  await measure('next() + ackAck', async () => {
    for (let i = 0; i < n; i++) {
      const m = await c.next({ expires: 2000 });
      await m?.ackAck();
    }
  });
  await nc.close();
} finally {
  await stack.stop();
}
