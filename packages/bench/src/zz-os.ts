import { readFileSync } from 'node:fs';
import { startStack } from '@fleetscan/stack';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
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
  const os = await new Objm(js).create('zz');
  const blob = new Uint8Array(60_000).fill(65);
  await os.putBlob({ name: 'a' }, blob);
  for (const [label, op] of [
    ['info', () => os.info('a')],
    ['getBlob', () => os.getBlob('a')],
    [
      'direct msg get (kv-like)',
      () =>
        js.jetstreamManager().then((m) => m.streams.getMessage('OBJ_zz', { last_by_subj: '$O.zz.M.YQ==' })),
    ],
  ] as const) {
    const c0 = cpu(nats.pid);
    const t0 = Date.now();
    const n = 300;
    for (let i = 0; i < n; i++) await (op as () => Promise<unknown>)();
    console.log(
      label.padEnd(26),
      n,
      'ops',
      ((Date.now() - t0) / n).toFixed(2),
      'ms each,',
      (((cpu(nats.pid) - c0) / n) * 1000).toFixed(2),
      'ms nats CPU each',
    );
  }
  await nc.close();
} finally {
  await stack.stop();
}
