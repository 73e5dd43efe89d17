import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Identity, inboxPrefix, userName } from '@fleetscan/bus';
import { type ConnectionOptions, connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { addUsers, authDir, readUsers } from './nats-auth.ts';
import { freePort } from './ports.ts';
import { type ManagedProcess, startProcess, waitReady } from './process.ts';
import { createTestTls, type TestTls } from './tls.ts';

export interface NatsNode {
  readonly name: string;
  readonly url: string;
  readonly monitorUrl: string;
  readonly confFile: string;
  /** The running process (a new one after restartNode). */
  readonly process: ManagedProcess;
}

export interface Nats {
  /** The first node's client URL. */
  readonly url: string;
  /** Every node's client URL. */
  readonly urls: string[];
  readonly monitorUrl: string;
  /** Go pprof (when started with profiling). */
  readonly profUrl?: string;
  /** The first node's process. */
  readonly process: ManagedProcess;
  readonly nodes: readonly NatsNode[];
  /** Where auth state (identities.json, auth.conf, seed files) lives. */
  readonly dir: string;
  /** Replicas streams should have here: 3 on three or more nodes, else 1. */
  readonly replicas: number;
  readonly tls?: TestTls;
  /** Seed files (NATS_NKEY_FILE) by user name. */
  credentials(): Record<string, string>;
  /** Options for nats.js `connect` as this identity (admin by default), to every node. */
  connectOptions(identity?: Identity): ConnectionOptions;
  /** Adds users for these identities (if new), and makes every node reload its configuration. */
  addIdentities(ids: readonly Identity[]): Promise<void>;
  /** Starts a node again on its ports and store (after a kill), and waits until it is healthy. */
  restartNode(name: string): Promise<NatsNode>;
  stop(): Promise<void>;
}

export interface NatsOptions {
  bin: string;
  dir: string;
  dieWithParent: boolean;
  /** nats-server processes forming one JetStream cluster (routes on loopback). Default 1. */
  nodes?: number;
  /** Identities to create users for at start (admin and scanner are always there). */
  identities?: readonly Identity[];
  /** Fixed ports (one node only), to restart a server where its clients expect it. */
  port?: number;
  monitorPort?: number;
  /** Serve Go's /debug/pprof on a port of its own (prof_port, first node), for CPU profiles. */
  profiling?: boolean | undefined;
  /** Require TLS on client connections, with a certificate from a CA made for this run. */
  tls?: boolean;
}

/**
 * nats-server with JetStream: one server, or a cluster of `nodes` with routes on 127.0.0.1.
 * Authentication is always on: users are nkeys in the FLEETSCAN account (nats-auth.ts) with the
 * permissions of packages/bus/src/identities.ts; there is no anonymous user.
 */
export async function startNats(opts: NatsOptions): Promise<Nats> {
  const count = opts.nodes ?? 1;
  const single = count === 1;
  const natsDir = single ? opts.dir : join(opts.dir, 'nats');
  // The fleet's own identities; a cluster's are added with it (provisionIdentities).
  await addUsers(natsDir, [
    { role: 'admin' },
    { role: 'scanner' },
    { role: 'fleetview' },
    ...(opts.identities ?? []),
  ]);
  const tls = opts.tls ? await createTestTls(join(natsDir, 'tls')) : undefined;
  const routePass = randomBytes(12).toString('hex');
  const specs = [];
  for (let i = 0; i < count; i++) {
    specs.push({
      name: single ? 'fleetscan-local' : `n${i + 1}`,
      port: (single && opts.port) || (await freePort()),
      monitorPort: (single && opts.monitorPort) || (await freePort()),
      routePort: single ? 0 : await freePort(),
    });
  }
  const profPort = opts.profiling ? await freePort() : undefined;
  const nodeDir = (name: string) => (single ? opts.dir : join(natsDir, name));
  const scheme = tls ? 'tls' : 'nats';
  const nodes: { name: string; url: string; monitorUrl: string; confFile: string; logFile: string }[] = [];
  for (const [i, s] of specs.entries()) {
    const dir = nodeDir(s.name);
    const storeDir = join(dir, 'jetstream');
    await mkdir(storeDir, { recursive: true });
    const confFile = join(dir, single ? 'nats.conf' : `${s.name}.conf`);
    await writeFile(
      confFile,
      [
        `server_name: ${s.name}`,
        `listen: 127.0.0.1:${s.port}`,
        `http: 127.0.0.1:${s.monitorPort}`,
        ...(i === 0 && profPort ? [`prof_port: ${profPort}`] : []),
        'jetstream {',
        `  store_dir: ${JSON.stringify(storeDir)}`,
        '  max_memory_store: 256MB',
        '  max_file_store: 4GB',
        '}',
        ...(single
          ? []
          : [
              'cluster {',
              '  name: fleetscan',
              `  listen: 127.0.0.1:${s.routePort}`,
              `  authorization { user: route, password: ${JSON.stringify(routePass)} }`,
              `  routes: [${specs.map((o) => JSON.stringify(`nats-route://route:${routePass}@127.0.0.1:${o.routePort}`)).join(', ')}]`,
              '}',
            ]),
        ...(tls
          ? [
              'tls {',
              `  cert_file: ${JSON.stringify(tls.certFile)}`,
              `  key_file: ${JSON.stringify(tls.keyFile)}`,
              '  timeout: 5',
              '}',
            ]
          : []),
        // Users, accounts and permissions (rendered from identities.json; reloaded on SIGHUP).
        // (An include path is relative to the including file.)
        `include ${JSON.stringify(relative(dir, join(authDir(natsDir), 'auth.conf')))}`,
        '',
      ].join('\n'),
    );
    nodes.push({
      name: s.name,
      url: `${scheme}://127.0.0.1:${s.port}`,
      monitorUrl: `http://127.0.0.1:${s.monitorPort}`,
      confFile,
      logFile: join(dir, single ? 'nats-server.log' : `nats-server-${s.name}.log`),
    });
  }

  const procs = new Map<string, ManagedProcess>();
  const launch = (n: (typeof nodes)[number]) => {
    const p = startProcess({
      name: single ? 'nats-server' : `nats-server-${n.name}`,
      command: opts.bin,
      args: ['-c', n.confFile],
      logFile: n.logFile,
      dieWithParent: opts.dieWithParent,
    });
    procs.set(n.name, p);
    return p;
  };
  const healthy = async (n: (typeof nodes)[number], p: ManagedProcess) => {
    // Without parameters /healthz also waits for the node's JetStream to be current with the
    // cluster (the meta group, and its streams after a restart).
    await waitReady(p, async () => (await fetch(`${n.monitorUrl}/healthz`)).ok, 60_000);
  };
  const started = nodes.map((n) => ({ n, p: launch(n) }));
  try {
    await Promise.all(started.map(({ n, p }) => healthy(n, p)));
  } catch (err) {
    await Promise.all([...procs.values()].map((p) => p.stop()));
    throw err;
  }

  const first = nodes[0];
  if (!first) throw new Error('no NATS node');
  return {
    url: first.url,
    urls: nodes.map((n) => n.url),
    monitorUrl: first.monitorUrl,
    ...(profPort && { profUrl: `http://127.0.0.1:${profPort}` }),
    get process() {
      return procs.get(first.name) as ManagedProcess;
    },
    get nodes() {
      return nodes.map((n) => ({ ...n, process: procs.get(n.name) as ManagedProcess }));
    },
    dir: natsDir,
    replicas: count >= 3 ? 3 : 1,
    ...(tls && { tls }),
    credentials: () => Object.fromEntries(readUsers(natsDir).map((u) => [u.user, u.seedFile])),
    connectOptions(identity = { role: 'admin' }) {
      const seed = readUsers(natsDir).find((u) => u.user === userName(identity))?.seedFile;
      if (!seed) throw new Error(`no NATS user ${userName(identity)} in ${natsDir}`);
      return {
        servers: nodes.map((n) => n.url),
        authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(seed, 'utf8').trim())),
        inboxPrefix: inboxPrefix(identity),
        ...(tls && { tls: { caFile: tls.caFile } }),
      };
    },
    async addIdentities(ids) {
      await provisionIdentities(
        {
          dir: natsDir,
          nodes: nodes.map((n) => ({ url: n.url, pid: procs.get(n.name)?.pid ?? -1 })),
          ...(tls && { caFile: tls.caFile }),
        },
        ids,
      );
    },
    async restartNode(name) {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new Error(`no NATS node ${name}`);
      await procs.get(name)?.stop();
      const p = launch(n);
      await healthy(n, p);
      return { ...n, process: p };
    },
    async stop() {
      await Promise.all([...procs.values()].map((p) => p.stop()));
    },
  };
}

/**
 * Adds users for identities that have none yet, and has every running node reload its
 * configuration (SIGHUP); returns once the new users can log in everywhere. For a stack known only
 * by its StackInfo (a test adding its own cluster): pass its nats dir, nodes and CA.
 */
export async function provisionIdentities(
  nats: { dir: string; nodes: readonly { url: string; pid: number }[]; caFile?: string },
  ids: readonly Identity[],
): Promise<void> {
  if (!(await addUsers(nats.dir, ids))) return;
  for (const n of nats.nodes) if (n.pid > 0) process.kill(n.pid, 'SIGHUP');
  // A reload is asynchronous: the last new user can log in on every node once it is done.
  const last = ids.at(-1);
  if (!last) return;
  const seed = readUsers(nats.dir).find((u) => u.user === userName(last))?.seedFile;
  if (!seed) throw new Error(`no NATS user ${userName(last)} in ${nats.dir}`);
  for (const n of nats.nodes) await waitLogin(n.url, seed, nats.caFile);
}

/** Tries to log in as a user until the server accepts it (after a reload), for at most 15 s. */
async function waitLogin(url: string, seedFile: string, caFile: string | undefined): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const nc = await connect({
        servers: url,
        reconnect: false,
        authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim())),
        ...(caFile && { tls: { caFile } }),
      });
      await nc.close();
      return;
    } catch (err) {
      last = err;
      await sleep(200);
    }
  }
  throw new Error(`NATS at ${url} did not accept the new user after a reload`, { cause: last });
}
