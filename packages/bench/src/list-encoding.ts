#!/usr/bin/env node
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { parseArgs, promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { createTransport, type KubeConnection, loadKubeConfig } from '@fleetscan/kube';
import { startStack } from '@fleetscan/stack';
import { ownCpu, readCpu } from './proc.ts';
import { quantile } from './stats.ts';

/**
 * Does asking kube-apiserver for gzip make a large LIST cheaper? Starts the stack, creates `pods`
 * Pods in one namespace, then LISTs them all in pages of 500 (as the reflectors do), `passes`
 * times with `Accept-Encoding: gzip` and as many times without, alternating, for full objects and
 * for metadata-only (PartialObjectMetadataList). Per pass: bytes on the wire, wall time, this
 * process's CPU (reading, gunzip, JSON.parse) and kube-apiserver's CPU (/proc, 10 ms ticks).
 * Requests use the services' connection (keep-alive agent, TLS, token) and read and parse the
 * body as the transport does; with gzip, the body is gunzipped first (zlib, off the main thread).
 *
 *   node packages/bench/src/list-encoding.ts [--pods 3000] [--passes 10]
 */

const gunzipAsync = promisify(gunzip);
const ACCEPT_JSON = 'application/json';
const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

interface Pass {
  wireBytes: number;
  bodyBytes: number;
  items: number;
  pages: number;
  compressedPages: number;
  wallMs: number;
  clientCpuMs: number;
  apiserverCpuMs: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { pods: { type: 'string', default: '3000' }, passes: { type: 'string', default: '10' } },
  });
  const pods = Number(values.pods);
  const passes = Number(values.passes);
  const say = (m: string) => process.stderr.write(`[list-encoding] ${m}\n`);
  say('starting the stack');
  const stack = await startStack({ onProgress: (m) => say(m) });
  const conn = loadKubeConfig({ kubeconfigPath: stack.kubeconfigPath });
  try {
    const apiserverPid = stack.processes.find((p) => p.name === 'kube-apiserver')?.pid;
    if (!apiserverPid) throw new Error('no kube-apiserver process');
    say(`creating ${pods} Pods`);
    await createPods(conn, 'list-encoding', pods);
    const path = '/api/v1/namespaces/list-encoding/pods';
    for (const [what, accept] of [
      ['Pods, full objects', ACCEPT_JSON],
      ['Pods, metadata only', ACCEPT_METADATA_LIST],
    ] as const) {
      await listPass(conn, path, accept, false, apiserverPid); // warm-up: caches, TLS, JIT
      await listPass(conn, path, accept, true, apiserverPid);
      const plain: Pass[] = [];
      const gzip: Pass[] = [];
      for (let i = 0; i < passes; i++) {
        // Alternate which goes first, so drift on a shared box hits both alike.
        for (const compressed of i % 2 ? [true, false] : [false, true]) {
          (compressed ? gzip : plain).push(await listPass(conn, path, accept, compressed, apiserverPid));
        }
      }
      process.stdout.write(report(what, plain, gzip));
    }
  } finally {
    conn.close();
    await stack.stop();
  }
}

async function createPods(conn: KubeConnection, namespace: string, count: number): Promise<void> {
  const t = createTransport(conn);
  const signal = () => AbortSignal.timeout(60_000);
  await t.request(
    { method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: namespace } } },
    signal(),
  );
  await waitForServiceAccount(conn, namespace);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await t.request(
        { method: 'POST', path: `/api/v1/namespaces/${namespace}/pods`, body: pod(i) },
        signal(),
      );
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function waitForServiceAccount(conn: KubeConnection, namespace: string): Promise<void> {
  const t = createTransport(conn);
  for (let i = 0; i < 300; i++) {
    const ok = await t
      .getJson(`/api/v1/namespaces/${namespace}/serviceaccounts/default`, {}, AbortSignal.timeout(10_000))
      .then(
        () => true,
        () => false,
      );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no default ServiceAccount in ${namespace}`);
}

/** A Pod shaped like an ordinary workload's: two containers, env, resources, probes, labels. */
function pod(i: number) {
  const app = `app-${i % 50}`;
  const container = (name: string, image: string) => ({
    name,
    image,
    ports: [{ name: 'http', containerPort: 8080 }],
    env: Array.from({ length: 6 }, (_, k) => ({ name: `SETTING_${k}`, value: `value-${k}-${i}` })),
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
    volumeMounts: [{ name: 'config', mountPath: '/etc/app' }],
  });
  return {
    metadata: {
      name: `pod-${i}`,
      labels: { app, tier: 'backend', team: `team-${i % 7}`, 'app.kubernetes.io/version': `1.${i % 9}.0` },
      annotations: { 'example.com/owner': `owner-${i % 13}@example.com`, 'example.com/build': `build-${i}` },
    },
    spec: {
      containers: [
        container('app', `registry.example.com/shop/${app}:1.${i % 9}.0`),
        container('sidecar', 'registry.example.com/infra/proxy:2.4.1'),
      ],
      volumes: [{ name: 'config', configMap: { name: `${app}-config` } }],
    },
  };
}

async function listPass(
  conn: KubeConnection,
  path: string,
  accept: string,
  compressed: boolean,
  apiserverPid: number,
): Promise<Pass> {
  const pass: Pass = {
    wireBytes: 0,
    bodyBytes: 0,
    items: 0,
    pages: 0,
    compressedPages: 0,
    wallMs: 0,
    clientCpuMs: 0,
    apiserverCpuMs: 0,
  };
  const api0 = readCpu(apiserverPid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let cont: string | undefined;
  do {
    const url = new URL(conn.server + path);
    url.searchParams.set('limit', '500');
    if (cont) url.searchParams.set('continue', cont);
    const opts = await conn.requestOptions();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const r = request(
        url,
        {
          ...opts,
          headers: { ...opts.headers, accept, ...(compressed && { 'accept-encoding': 'gzip' }) },
          signal: AbortSignal.timeout(60_000),
        },
        resolve,
      );
      r.on('error', reject);
      r.end();
    });
    if (res.statusCode !== 200) throw new Error(`LIST ${path}: HTTP ${res.statusCode}`);
    const chunks: Buffer[] = [];
    for await (const chunk of res) {
      pass.wireBytes += (chunk as Buffer).length;
      chunks.push(chunk as Buffer);
    }
    let body = Buffer.concat(chunks);
    if (res.headers['content-encoding'] === 'gzip') {
      pass.compressedPages++;
      body = await gunzipAsync(body);
    }
    pass.bodyBytes += body.length;
    const page = JSON.parse(body.toString('utf8')) as { items?: unknown[]; metadata?: { continue?: string } };
    pass.items += page.items?.length ?? 0;
    pass.pages++;
    cont = page.metadata?.continue || undefined;
  } while (cont);
  pass.wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  pass.clientCpuMs = (cpu.user + cpu.system) / 1000;
  const api1 = readCpu(apiserverPid);
  pass.apiserverCpuMs = api0 && api1 ? (ownCpu(api1) - ownCpu(api0)) * 1000 : Number.NaN;
  return pass;
}

function report(what: string, plain: Pass[], gzip: Pass[]): string {
  const row = (label: string, f: (p: Pass) => number, unit: string, digits = 0) => {
    const a = quantile(plain.map(f), 0.5) ?? Number.NaN;
    const b = quantile(gzip.map(f), 0.5) ?? Number.NaN;
    const ratio = a ? ` (${(b / a).toFixed(2)}×)` : '';
    return `  ${label.padEnd(34)} ${a.toFixed(digits).padStart(10)} ${unit.padEnd(3)} ${b.toFixed(digits).padStart(10)} ${unit}${ratio}\n`;
  };
  const first = plain[0];
  return (
    `\n${what}: ${first?.items ?? 0} items in ${first?.pages ?? 0} pages, medians of ${plain.length} passes each\n` +
    `  ${''.padEnd(34)} ${'identity'.padStart(14)} ${'gzip'.padStart(14)}\n` +
    row('bytes on the wire', (p) => p.wireBytes / 1e6, 'MB', 2) +
    row('JSON bytes', (p) => p.bodyBytes / 1e6, 'MB', 2) +
    row('pages the server compressed', (p) => p.compressedPages, '', 0) +
    row('wall time', (p) => p.wallMs, 'ms') +
    row('CPU, this process', (p) => p.clientCpuMs, 'ms') +
    row('CPU, kube-apiserver', (p) => p.apiserverCpuMs, 'ms') +
    row('CPU, both', (p) => p.clientCpuMs + p.apiserverCpuMs, 'ms')
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `list-encoding: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
