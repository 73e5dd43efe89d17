#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { recordedAlive, signalRecorded } from './identity.ts';
import { type StackInfo, startStack } from './stack.ts';
import { repoRoot } from './tools.ts';

const HELP = `Usage: fleetscan-stack <command> [options]

Starts the real local stack on free 127.0.0.1 ports: etcd, kube-apiserver,
kube-controller-manager, nats-server (JetStream), two OCI registries (one with
htpasswd auth) holding the project's test images, and trivy's fixture DB.
Binaries come from ~/.cache/fleetscan (run \`bash .ci/bootstrap\` first).

Commands:
  up            start in the background, print endpoints, exit (state in --dir)
  up --foreground
                start, print endpoints, stay until Ctrl-C, then clean up
  down          stop the stack started by \`up\` and remove its directory
  status        print the endpoints of the running stack

Options:
  --dir DIR          state directory (default: <repo>/.stack)
  --clusters N       Kubernetes clusters (own kube-apiserver on an etcd prefix, own
                     kube-controller-manager), named a, b, …; default 1 (named local)
  --nats-nodes N     nats-server processes in one JetStream cluster (routes on loopback);
                     3 gives streams, KV and object stores 3 replicas; default 1
  --nats-tls         require TLS on NATS client connections (a CA made for this run)
  -h, --help         show this help

NATS always requires authentication: every identity (admin, scanner, and per cluster
watcher-<name> and writer-<name>) is an nkey user with its own subject permissions; the
seed files printed below are what NATS_NKEY_FILE takes.
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      foreground: { type: 'boolean', default: false },
      clusters: { type: 'string', default: '1' },
      'nats-nodes': { type: 'string', default: '1' },
      'nats-tls': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const cmd = positionals[0];
  if (values.help || !cmd) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const dir = values.dir ?? join(repoRoot, '.stack');
  switch (cmd) {
    case 'up': {
      const clusters = Number(values.clusters);
      const natsNodes = Number(values['nats-nodes']);
      if (!Number.isInteger(clusters) || clusters < 1)
        throw new Error('--clusters must be a positive integer');
      if (!Number.isInteger(natsNodes) || natsNodes < 1)
        throw new Error('--nats-nodes must be a positive integer');
      return await up(dir, values.foreground, { clusters, natsNodes, natsTls: values['nats-tls'] });
    }
    case 'down':
      return await down(dir);
    case 'status': {
      const info = readInfo(dir);
      if (!info || !alive(info)) {
        process.stderr.write(`no running stack in ${dir}\n`);
        return 1;
      }
      printInfo(info);
      return 0;
    }
    default:
      process.stderr.write(`unknown command: ${cmd}\n\n${HELP}`);
      return 2;
  }
}

async function up(
  dir: string,
  foreground: boolean,
  shape: { clusters: number; natsNodes: number; natsTls: boolean },
): Promise<number> {
  const existing = readInfo(dir);
  if (existing && alive(existing)) {
    process.stderr.write(`a stack is already running in ${dir} (stop it with \`npm run stack:down\`)\n`);
    printInfo(existing);
    return 1;
  }
  await rm(dir, { recursive: true, force: true });
  const started = Date.now();
  const stack = await startStack({
    dir,
    ...shape,
    dieWithParent: foreground,
    keepDir: !foreground,
    onProgress: (m) => process.stderr.write(`[stack] ${m}\n`),
  });
  process.stderr.write(`[stack] ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  printInfo(stack);
  if (!foreground) {
    process.stdout.write('\nStop it with: npm run stack:down\n');
    return 0;
  }
  process.stdout.write('\nRunning; press Ctrl-C to stop and clean up.\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('[stack] stopping\n');
  await stack.stop();
  return 0;
}

async function down(dir: string): Promise<number> {
  const info = readInfo(dir);
  if (!info) {
    process.stderr.write(`no stack state in ${dir}; nothing to stop\n`);
    return 0;
  }
  const skipped = new Set<string>();
  const signal = (sig: NodeJS.Signals) => {
    for (const p of [...info.processes].reverse()) {
      // Recorded pids may have wrapped round to someone else's process: only ours are signalled.
      const check = p.identity ? signalRecorded(p.identity, sig) : 'unrecorded';
      if (check === 'replaced' || check === 'unrecorded') skipped.add(`${p.name} (pid ${p.pid}): ${check}`);
    }
  };
  signal('SIGTERM');
  for (let i = 0; i < 50 && alive(info); i++) await sleep(100);
  signal('SIGKILL');
  for (const s of skipped) {
    process.stderr.write(
      `not signalled: ${s} ${s.endsWith('unrecorded') ? '(no identity recorded by the version that started it)' : '(its pid belongs to another process now)'}\n`,
    );
  }
  await rm(dir, { recursive: true, force: true });
  process.stdout.write(`stopped the stack in ${dir}\n`);
  return 0;
}

function readInfo(dir: string): StackInfo | undefined {
  const f = join(dir, 'stack.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as StackInfo) : undefined;
}

function alive(info: StackInfo): boolean {
  return info.processes.some((p) => p.identity !== undefined && recordedAlive(p.identity));
}

function printInfo(info: StackInfo): void {
  const creds = info.nats.credentials;
  const tls = info.nats.tls ? `  NATS_TLS_CA_FILE=${info.nats.tls.caFile}` : '';
  const lines = [
    ...info.clusters.flatMap((c) => [
      `cluster ${c.name}:`,
      `  kubeconfig:  ${c.kubeconfigPath}   (export KUBECONFIG=${c.kubeconfigPath})`,
      `  apiserver:   ${c.apiserverUrl}  (Kubernetes ${info.versions.KUBE_VERSION})`,
      `  watcher:     NATS_NKEY_FILE=${creds[`watcher-${c.name}`] ?? '?'}`,
      `  writer:      NATS_NKEY_FILE=${creds[`writer-${c.name}`] ?? '?'}`,
    ]),
    `NATS:          NATS_URL=${info.natsUrl}${tls}`,
    `  ${info.nats.nodes.length} node(s), replicas ${info.nats.replicas}; monitoring ${info.nats.nodes.map((n) => n.monitorUrl).join(' ')}`,
    `  scanner:     NATS_NKEY_FILE=${creds.scanner ?? '?'}   (NATS_REPLICAS=${info.nats.replicas})`,
    `  admin:       NATS_NKEY_FILE=${creds.admin ?? '?'}   (nats CLI: --nkey ${creds.admin ?? '?'})`,
    `registry:      ${info.registry.host}`,
    `auth registry: ${info.authRegistry.host}  (user ${info.authRegistry.username})`,
    `trivy:         ${info.trivy.bin} --cache-dir ${info.trivy.cacheDir} --skip-db-update --offline-scan`,
    'images:',
    ...info.images.map((i) => `  ${i.ref}@${i.digest}`),
    `logs:          ${info.dir}/**/*.log`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fleetscan-stack: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
