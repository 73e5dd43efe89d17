/**
 * What auditing ConfigMaps costs the watcher in memory (docs/BENCHMARKS.md, "ConfigMaps").
 *
 *   node --expose-gc test/measure/configmap-rss.ts [--configmaps 5000] [--kib 8]
 *
 * Starts the real stack, creates N ConfigMaps of about K KiB of data each, then runs the watcher as
 * its own process (with its image's node flags) twice: not auditing ConfigMaps, then auditing them
 * (SUPPORTED_CONFIG_AUDIT_KINDS=Workload,ConfigMap). Each time it waits until the watcher has asked
 * for every audit (each ask reads the ConfigMap again, see @fleetscan/inventory fetch-manifest.ts)
 * and reads its peak and current RSS from /proc. No scanner runs: the requests wait in the stream.
 * In-process, it also measures what keeping each ConfigMap's manifest in the inventory (instead of
 * its hash) would hold on the heap, the alternative the watcher does not take.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICE_NODE_FLAGS } from '@fleetscan/demo';
import { auditManifest, projectResource } from '@fleetscan/inventory';
import type { KubeObject } from '@fleetscan/kube';
import { freePort, repoRoot, startProcess, startStack } from '@fleetscan/stack';
import { clusterOf, rawApi } from '../support/deploy-kube.ts';

const { values } = parseArgs({
  options: { configmaps: { type: 'string', default: '5000' }, kib: { type: 'string', default: '8' } },
});
const N = Number(values.configmaps);
const KIB = Number(values.kib);
const MIB = 1024 * 1024;

const data = (i: number) => ({
  'app.properties':
    `# ConfigMap ${i}\n${'key=value-with-some-length\n'.repeat(Math.ceil((KIB * 1024) / 27))}`.slice(
      0,
      KIB * 1024,
    ),
  'log.level': 'info',
});

function memoryOf(pid: number): { hwm: number; rss: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}

async function metric(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) && line.includes(labels)) sum += Number(line.split(' ').at(-1));
  return sum;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const stack = await startStack({ onProgress: (m) => console.log(`[stack] ${m}`) });
try {
  const { cluster, adminToken } = clusterOf(stack.kubeconfigPath);
  const api = rawApi(cluster, adminToken);
  const ns = 'configmaps';
  await api.call('POST', '/api/v1/namespaces', { metadata: { name: ns } });
  const started = Date.now();
  for (let i = 0; i < N; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, N - i) }, async (_, j) => {
        const r = await api.call('POST', `/api/v1/namespaces/${ns}/configmaps`, {
          metadata: { name: `cm-${i + j}` },
          data: data(i + j),
        });
        if (r.status !== 201) throw new Error(`create cm-${i + j}: ${r.status} ${r.text.slice(0, 200)}`);
      }),
    );
  }
  console.log(`created ${N} ConfigMaps of ${KIB} KiB in ${Math.round((Date.now() - started) / 1000)} s`);

  const results: string[] = [];
  for (const [mode, kinds] of [
    ['not audited', 'Workload'],
    ['audited', 'Workload,ConfigMap'],
  ] as const) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = startProcess({
      name: `watcher-${mode.replace(' ', '-')}`,
      command: process.execPath,
      args: [...SERVICE_NODE_FLAGS.watcher, join(repoRoot, 'services', 'watcher', 'src', 'main.ts')],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        CLUSTER_NAME: `rss-${mode.replace(' ', '-')}`,
        KUBECONFIG: stack.kubeconfigPath,
        NATS_URL: stack.natsUrl,
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: String(port),
        LOG_LEVEL: 'warn',
        SUPPORTED_CONFIG_AUDIT_KINDS: kinds,
        NAMESPACES_INCLUDE: ns,
      },
      logFile: join(stack.dir, `watcher-${mode.replace(' ', '-')}.log`),
      dieWithParent: true,
    });
    const t0 = Date.now();
    await until(
      'ready',
      async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true,
      120_000,
    );
    const ready = Date.now() - t0;
    if (mode === 'audited') {
      // Every ConfigMap read again and its audit published (kube-root-ca.crt included).
      await until(
        `${N} audits asked`,
        async () => (await metric(url, 'fleetscan_watcher_requests_total', 'type="config"')) >= N,
        600_000,
      );
    }
    const asked = await metric(url, 'fleetscan_watcher_requests_total', 'type="config"');
    await new Promise((r) => setTimeout(r, 5000));
    const m = memoryOf(proc.pid);
    const line = `${mode.padEnd(12)} ready ${Math.round(ready / 1000)} s, config requests ${asked}, peak RSS ${Math.round(m.hwm / MIB)} MiB, RSS ${Math.round(m.rss / MIB)} MiB`;
    console.log(line);
    results.push(line);
    await proc.stop();
  }

  // The alternative: keeping each ConfigMap's manifest (its data) in the inventory.
  const list = (await api.call('GET', `/api/v1/namespaces/${ns}/configmaps`)).json() as {
    items: KubeObject[];
  };
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    const heapOf = (keep: (o: KubeObject) => unknown) => {
      gc();
      const before = process.memoryUsage().heapUsed;
      const held = list.items.map((o) => keep(JSON.parse(JSON.stringify(o)) as KubeObject));
      gc();
      const used = process.memoryUsage().heapUsed - before;
      return { used, held };
    };
    const hashOnly = heapOf((o) => projectResource('ConfigMap', o));
    const kept = heapOf((o) => ({
      owner: projectResource('ConfigMap', o),
      manifest: auditManifest('ConfigMap', o),
    }));
    const line = `heap held for ${list.items.length} projections: hash only ${(hashOnly.used / MIB).toFixed(1)} MiB, with manifests ${(kept.used / MIB).toFixed(1)} MiB`;
    console.log(line);
    results.push(line);
    void hashOnly.held.length;
    void kept.held.length;
  }
  console.log(`\n${results.join('\n')}`);
} finally {
  await stack.stop();
}
