import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  loadStackConfig,
  locateTools,
  type Nats,
  natsConnectOptions,
  startNats,
} from '@fleetscan/stack';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, inject, it } from 'vitest';

const uniq = () => Math.random().toString(36).slice(2, 8);

describe('NATS JetStream is real', () => {
  it('a stream accepts a publish and a durable consumer receives it on a new connection', async () => {
    const stream = `T_${uniq()}`;
    const subject = `test.${stream}`;
    let nc = await connect(natsConnectOptions(inject('stack')));
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [subject] });
    await jsm.consumers.add(stream, { durable_name: 'worker', ack_policy: AckPolicy.Explicit });
    const ack = await jetstream(nc).publish(subject, 'hello');
    expect(ack.stream).toBe(stream);
    await nc.close();

    nc = await connect(natsConnectOptions(inject('stack')));
    const consumer = await jetstream(nc).consumers.get(stream, 'worker');
    const msg = await consumer.next({ expires: 5000 });
    expect(msg?.string()).toBe('hello');
    msg?.ack();
    await (await jetstreamManager(nc)).streams.delete(stream);
    await nc.close();
  });

  describe('across a server restart', () => {
    let dir = '';
    let server: Nats | undefined;
    afterAll(async () => {
      await server?.process.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('the client reconnects and the durable consumer still delivers what was published before', async () => {
      const tools = locateTools(loadStackConfig().cacheDir);
      dir = await mkdtemp(join(tmpdir(), 'fleetscan-nats-'));
      const [port, monitorPort] = [await freePort(), await freePort()];
      const start = () => startNats({ bin: tools.natsServer, dir, dieWithParent: true, port, monitorPort });
      server = await start();
      const nc = await connect({
        ...server.connectOptions(),
        reconnectTimeWait: 100,
        maxReconnectAttempts: -1,
      });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'RESTART', subjects: ['restart.>'] });
      await jsm.consumers.add('RESTART', { durable_name: 'worker', ack_policy: AckPolicy.Explicit });
      await jetstream(nc).publish('restart.a', 'before');

      let reconnected = false;
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'reconnect') reconnected = true;
      })();
      await server.process.stop();
      server = await start();
      // On a busy machine the client may take seconds to come back: wait for it, then allow a slow first answer.
      for (let i = 0; i < 300 && !reconnected; i++) await new Promise((r) => setTimeout(r, 100));
      const consumer = await jetstream(nc, { timeout: 30_000 }).consumers.get('RESTART', 'worker');
      const msg = await consumer.next({ expires: 10_000 });
      expect(msg?.string()).toBe('before');
      msg?.ack();
      expect(reconnected).toBe(true);
      const ack = await jetstream(nc).publish('restart.b', 'after');
      expect(ack.seq).toBe(2);
      await nc.close();
    });
  });
});
