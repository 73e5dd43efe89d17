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
  --dir DIR     state directory (default: <repo>/.stack)
  -h, --help    show this help
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      foreground: { type: 'boolean', default: false },
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
    case 'up':
      return await up(dir, values.foreground);
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

async function up(dir: string, foreground: boolean): Promise<number> {
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
  const lines = [
    `kubeconfig:    ${info.kubeconfigPath}   (export KUBECONFIG=${info.kubeconfigPath})`,
    `kube-apiserver ${info.apiserverUrl}  (Kubernetes ${info.versions.KUBE_VERSION})`,
    `NATS:          ${info.natsUrl}  (monitoring ${info.natsMonitorUrl})`,
    `registry:      ${info.registry.host}`,
    `auth registry: ${info.authRegistry.host}  (user ${info.authRegistry.username})`,
    `trivy:         ${info.trivy.bin} --cache-dir ${info.trivy.cacheDir} --skip-db-update --offline-scan`,
    'images:',
    ...info.images.map((i) => `  ${i.ref}@${i.digest}`),
    `logs:          ${info.dir}/*.log`,
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
