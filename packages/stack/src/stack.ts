import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Identity } from '@fleetscan/bus';
import { KubeConfig } from '@kubernetes/client-node';
import { startApiServer } from './apiserver.ts';
import { loadStackConfig } from './config.ts';
import { startControllerManager } from './controller-manager.ts';
import { installCrds } from './crds.ts';
import { startEtcd } from './etcd.ts';
import { type ProcessIdentity, readIdentity } from './identity.ts';
import { pushTestImages } from './images/index.ts';
import { buildKubeconfig } from './kubeconfig.ts';
import { type Nats, startNats } from './nats.ts';
import {
  authenticationConfig,
  type OidcIssuer,
  type OidcIssuerInfo,
  startOidcIssuer,
} from './oidc-issuer.ts';
import { createCertificateAuthority } from './pki.ts';
import type { ManagedProcess } from './process.ts';
import { startRegistry } from './registry.ts';
import { locateTools } from './tools.ts';
import { buildTrivyDb } from './trivydb.ts';

/** One Kubernetes cluster of the stack: its own API server (and etcd prefix) and controller manager. */
export interface ClusterInfo {
  /** Its name in NATS subjects (CLUSTER_NAME of its watcher and writer). */
  name: string;
  kubeconfigPath: string;
  apiserverUrl: string;
  /** kube-apiserver's audit log (JSON lines), when the stack was started with `auditNamespaces`. */
  auditLog?: string;
}

/** The stack's NATS: every node, the replicas streams get, TLS, and the users' credentials files. */
export interface NatsInfo {
  urls: string[];
  nodes: { name: string; url: string; monitorUrl: string; pid: number; logFile: string }[];
  /** Where auth state lives (provisionCluster adds users there). */
  dir: string;
  replicas: number;
  /** Set when clients must use TLS: the CA that signed the servers' certificates. */
  tls?: { caFile: string };
  /** nkey seed files (NATS_NKEY_FILE) by user: admin, scanner, watcher-<cluster>, writer-<cluster>. */
  credentials: Record<string, string>;
}

/** Everything a test, the demo or a person needs to reach the stack; JSON-serialisable. */
export interface StackInfo {
  dir: string;
  /** The first cluster's (the only one's, by default). */
  kubeconfigPath: string;
  apiserverUrl: string;
  clusters: ClusterInfo[];
  /** Every node's client URL, comma-separated (what NATS_URL takes). */
  natsUrl: string;
  /** The first node's monitoring endpoint. */
  natsMonitorUrl: string;
  nats: NatsInfo;
  /** nats-server's Go pprof, when the stack was started with `profiling`. */
  natsProfUrl?: string;
  registry: { url: string; host: string };
  /** A second registry that requires htpasswd auth, for private-registry tests. */
  authRegistry: { url: string; host: string; username: string; password: string };
  /** `auditor`: the config audit worker built against this trivy (the scanner's AUDITOR_BIN). */
  trivy: { bin: string; cacheDir: string; version: string; auditor: string };
  /** Prometheus and promtool binaries; tests start their own Prometheus (startPrometheus). */
  prometheus: { bin: string; promtool: string; version: string };
  images: { name: string; ref: string; digest: string }[];
  /**
   * `identity` (start time, command line, boot) is what `stack:down` checks before it signals a
   * pid, which may belong to another process by then; a process recorded without one is left alone.
   */
  processes: { name: string; pid: number; logFile: string; identity?: ProcessIdentity }[];
  versions: Record<string, string>;
  /**
   * The CA kube-apiserver trusts for client certificates (user = CN, groups = O); issue one with
   * issueClientCertificate. It also signs the OIDC issuer's serving certificate.
   */
  clientCa: { certFile: string; keyFile: string };
  /** The OIDC issuer kube-apiserver trusts, when the stack was started with `oidcIssuer`. */
  oidc?: OidcIssuerInfo;
}

export interface Stack extends StackInfo {
  /** What the stack is now, as plain data (NATS nodes restarted since have new pids). */
  info(): StackInfo;
  /** The first cluster's. */
  kubeConfig(): KubeConfig;
  kubeConfigOf(cluster: string): KubeConfig;
  /** The live NATS cluster: kill and restart nodes, add identities. */
  natsCluster: Nats;
  /** Stops every process and removes the directory (unless keepDir, here or at start). */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

export interface StackOptions {
  /** Where state and logs go; a fresh temp dir by default. */
  dir?: string;
  /**
   * Kubernetes clusters: a count (named a, b, c, …; one is named `local`) or names. Each has its
   * own kube-apiserver (on its own prefix of the one etcd) and kube-controller-manager. Default 1.
   */
  clusters?: number | readonly string[];
  /** nats-server processes in one JetStream cluster; streams get 3 replicas from 3 nodes on. Default 1. */
  natsNodes?: number;
  /** Require TLS on NATS client connections (a CA made for this run). */
  natsTls?: boolean;
  /** Kill children if this process dies (tests, foreground demo). Default true. */
  dieWithParent?: boolean;
  /** Keep the directory (logs) after stop(). */
  keepDir?: boolean;
  env?: NodeJS.ProcessEnv;
  /**
   * kube-controller-manager's client QPS (burst twice that). client-go's default of 20 creates about
   * 5.5 Deployments' ReplicaSets and Pods a second: fine for tests, a bottleneck for a benchmark.
   */
  controllerManagerQps?: number;
  /**
   * CPU profiles for benchmarks: kube-apiserver serves /debug/pprof to the admin token, nats-server
   * on `natsProfUrl`.
   */
  profiling?: boolean;
  /** Progress lines for people watching a cold start. */
  onProgress?: (msg: string) => void;
  /**
   * Serve an OIDC issuer from this process and make kube-apiserver trust its tokens (tests of
   * OIDC clients). It lives as long as this process: not for a stack left running in the background.
   */
  oidcIssuer?: boolean;
  /**
   * Every kube-apiserver logs each write in these namespaces to ClusterInfo.auditLog: when it arrived
   * and when it was answered, by whom (benchmarks take a request's time apart with it).
   */
  auditNamespaces?: readonly string[];
}

export function clusterNames(clusters: StackOptions['clusters']): string[] {
  if (Array.isArray(clusters)) return [...clusters];
  const n = typeof clusters === 'number' ? clusters : 1;
  if (n < 1 || n > 26) throw new Error(`clusters: 1 to 26, got ${n}`);
  return n === 1 ? ['local'] : Array.from({ length: n }, (_, i) => String.fromCharCode(97 + i));
}

/** The watcher and writer identities of these clusters. */
export function clusterIdentities(clusters: readonly string[]): Identity[] {
  return clusters.flatMap((cluster): Identity[] => [
    { role: 'watcher', cluster },
    { role: 'writer', cluster },
  ]);
}

/**
 * Starts the real local stack: etcd, per cluster a kube-apiserver and kube-controller-manager,
 * nats-server with JetStream (one, or a cluster of nodes) with authentication on, two OCI
 * registries (open and htpasswd) with the test images pushed, and trivy's fixture DB; installs
 * the CRDs in every cluster. On any failure everything already started is stopped and the logs are
 * kept.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const cfg = loadStackConfig(opts.env);
  const tools = locateTools(cfg.cacheDir);
  const progress = opts.onProgress ?? (() => {});
  const dieWithParent = opts.dieWithParent ?? true;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'fleetscan-stack-')));
  await mkdir(dir, { recursive: true });
  const procs: ManagedProcess[] = [];
  let issuer: OidcIssuer | undefined;
  const stopAll = async () => {
    await Promise.all([...procs].reverse().map((p) => p.stop()));
    await issuer?.close();
  };
  // Last resort for an abrupt exit: children die by PDEATHSIG, the dir goes here.
  const keepDir = opts.keepDir || cfg.keepDir;
  const onExit = () => {
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const names = clusterNames(opts.clusters);
    const single = names.length === 1;
    progress('starting etcd');
    const etcd = await startEtcd({ bin: tools.etcd, dir, dieWithParent });
    procs.push(etcd.process);
    // One client CA (and OIDC issuer) for every cluster's API server.
    const pki = join(dir, 'pki');
    const clientCa = await createCertificateAuthority(pki);
    let authenticationConfigFile: string | undefined;
    if (opts.oidcIssuer) {
      issuer = await startOidcIssuer({ dir: pki, ca: clientCa });
      authenticationConfigFile = join(pki, 'authentication-config.json');
      await writeFile(
        authenticationConfigFile,
        authenticationConfig(issuer, await readFile(clientCa.certFile, 'utf8')),
      );
    }

    // Every cluster's API server and controller manager; one etcd, a key prefix per cluster.
    progress(`starting ${names.length} kube-apiserver(s), nats-server(s) and registries`);
    const auth = { username: 'fleetscan', password: 'fleetscan-test-password' };
    const startCluster = async (name: string) => {
      const cdir = single ? dir : join(dir, name);
      await mkdir(cdir, { recursive: true });
      const api = await startApiServer({
        bin: tools.kubeApiserver,
        dir: cdir,
        etcdUrl: etcd.url,
        ...(single ? {} : { etcdPrefix: `/fleetscan-${name}` }),
        dieWithParent,
        profiling: opts.profiling,
        clientCaFile: clientCa.certFile,
        authenticationConfigFile,
        auditNamespaces: opts.auditNamespaces,
      });
      procs.push(api.process);
      const kubeconfigPath = join(cdir, 'kubeconfig');
      const kubeconfig = buildKubeconfig({
        server: api.url,
        caPem: api.caPem,
        token: api.adminToken,
        name: single ? 'fleetscan-local' : `fleetscan-${name}`,
      });
      await writeFile(kubeconfigPath, kubeconfig, { mode: 0o600 });
      const kcm = await startControllerManager({
        bin: tools.kubeControllerManager,
        dir: cdir,
        kubeconfigPath,
        serviceAccountKeyFile: api.serviceAccountKeyFile,
        dieWithParent,
        apiQps: opts.controllerManagerQps,
      });
      procs.push(kcm.process);
      return {
        name,
        kubeconfigPath,
        apiserverUrl: api.url,
        kubeconfig,
        ...(api.auditLog && { auditLog: api.auditLog }),
      };
    };
    const [clusters, nats, registry, authRegistry] = await Promise.all([
      Promise.all(names.map(startCluster)),
      startNats({
        bin: tools.natsServer,
        dir,
        dieWithParent,
        profiling: opts.profiling,
        nodes: opts.natsNodes ?? 1,
        identities: clusterIdentities(names),
        tls: opts.natsTls ?? false,
      }),
      startRegistry({ dir: join(dir, 'registry'), dieWithParent }),
      startRegistry({ dir: join(dir, 'registry-auth'), htpasswd: auth, dieWithParent }),
    ]);
    procs.push(...nats.nodes.map((n) => ({ ...n.process, stop: () => nats.stop() })));
    procs.push(registry.process, authRegistry.process);
    const first = clusters[0];
    if (!first) throw new Error('no cluster');
    const kubeConfigOf = (name: string) => {
      const c = clusters.find((x) => x.name === name);
      if (!c) throw new Error(`no cluster ${name} in this stack`);
      const k = new KubeConfig();
      k.loadFromString(c.kubeconfig);
      return k;
    };

    progress('installing CRDs, pushing test images, building the trivy DB fixture');
    const trivyCache = join(dir, 'trivy-cache');
    const [, images] = await Promise.all([
      Promise.all(names.map((n) => installCrds(kubeConfigOf(n)))),
      pushTestImages(registry),
      pushTestImages(authRegistry, auth),
      buildTrivyDb({ dbfixture: tools.dbfixture, cacheDir: trivyCache }),
    ]);

    const natsInfo = (): NatsInfo => ({
      urls: nats.urls,
      nodes: nats.nodes.map((n) => ({
        name: n.name,
        url: n.url,
        monitorUrl: n.monitorUrl,
        pid: n.process.pid,
        logFile: n.process.logFile,
      })),
      dir: nats.dir,
      replicas: nats.replicas,
      ...(nats.tls && { tls: { caFile: nats.tls.caFile } }),
      credentials: nats.credentials(),
    });
    const info: StackInfo = {
      dir,
      kubeconfigPath: first.kubeconfigPath,
      apiserverUrl: first.apiserverUrl,
      clusters: clusters.map(({ kubeconfig: _k, ...c }) => c),
      natsUrl: nats.urls.join(','),
      natsMonitorUrl: nats.monitorUrl,
      nats: natsInfo(),
      ...(nats.profUrl && { natsProfUrl: nats.profUrl }),
      registry: { url: registry.url, host: registry.host },
      authRegistry: { url: authRegistry.url, host: authRegistry.host, ...auth },
      trivy: {
        bin: tools.trivy,
        cacheDir: trivyCache,
        version: tools.versions.TRIVY_VERSION ?? '',
        auditor: tools.auditor,
      },
      prometheus: {
        bin: tools.prometheus,
        promtool: tools.promtool,
        version: tools.versions.PROMETHEUS_VERSION ?? '',
      },
      images,
      // Read now that every process is ready: a child started through setpriv has exec'd by now.
      processes: procs.map((p) => {
        const identity = readIdentity(p.pid);
        return { name: p.name, pid: p.pid, logFile: p.logFile, ...(identity && { identity }) };
      }),
      versions: { ...tools.versions },
      clientCa,
      ...(issuer && {
        oidc: {
          url: issuer.url,
          clientId: issuer.clientId,
          clientSecret: issuer.clientSecret,
          usernamePrefix: issuer.usernamePrefix,
          signingKeyFile: issuer.signingKeyFile,
          caFile: issuer.caFile,
        },
      }),
    };
    await writeFile(join(dir, 'stack.json'), `${JSON.stringify(info, null, 2)}\n`);
    process.once('exit', onExit);
    return {
      ...info,
      info: () => ({ ...info, nats: natsInfo() }),
      natsCluster: nats,
      kubeConfig: () => kubeConfigOf(first.name),
      kubeConfigOf,
      stop: async (o = {}) => {
        process.off('exit', onExit);
        await stopAll();
        if (!keepDir && !o.keepDir) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
