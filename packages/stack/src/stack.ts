import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startApiServer } from './apiserver.ts';
import { loadStackConfig } from './config.ts';
import { startControllerManager } from './controller-manager.ts';
import { installCrds } from './crds.ts';
import { startEtcd } from './etcd.ts';
import { type ProcessIdentity, readIdentity } from './identity.ts';
import { pushTestImages } from './images/index.ts';
import { buildKubeconfig } from './kubeconfig.ts';
import { startNats } from './nats.ts';
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

/** Everything a test, the demo or a person needs to reach the stack; JSON-serialisable. */
export interface StackInfo {
  dir: string;
  kubeconfigPath: string;
  apiserverUrl: string;
  natsUrl: string;
  natsMonitorUrl: string;
  /** nats-server's Go pprof, when the stack was started with `profiling`. */
  natsProfUrl?: string;
  registry: { url: string; host: string };
  /** A second registry that requires htpasswd auth, for private-registry tests. */
  authRegistry: { url: string; host: string; username: string; password: string };
  /** `auditor`: the config audit worker built against this trivy (the scanner's AUDITOR_BIN). */
  trivy: { bin: string; cacheDir: string; version: string; auditor: string };
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
  kubeConfig(): KubeConfig;
  /** Stops every process and removes the directory (unless keepDir, here or at start). */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

export interface StackOptions {
  /** Where state and logs go; a fresh temp dir by default. */
  dir?: string;
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
}

/**
 * Starts the real local stack: etcd, kube-apiserver, kube-controller-manager,
 * nats-server with JetStream, two OCI registries (open and htpasswd) with the
 * test images pushed, and trivy's fixture DB; installs the CRDs. On any
 * failure everything already started is stopped and the logs are kept.
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
    progress('starting etcd');
    const etcd = await startEtcd({ bin: tools.etcd, dir, dieWithParent });
    procs.push(etcd.process);
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
    progress('starting kube-apiserver');
    const api = await startApiServer({
      bin: tools.kubeApiserver,
      dir,
      etcdUrl: etcd.url,
      dieWithParent,
      profiling: opts.profiling,
      clientCaFile: clientCa.certFile,
      authenticationConfigFile,
    });
    procs.push(api.process);
    const kubeconfigPath = join(dir, 'kubeconfig');
    const kubeconfig = buildKubeconfig({ server: api.url, caPem: api.caPem, token: api.adminToken });
    await writeFile(kubeconfigPath, kubeconfig, { mode: 0o600 });

    progress('starting kube-controller-manager, nats-server and registries');
    const auth = { username: 'fleetscan', password: 'fleetscan-test-password' };
    const [kcm, nats, registry, authRegistry] = await Promise.all([
      startControllerManager({
        bin: tools.kubeControllerManager,
        dir,
        kubeconfigPath,
        serviceAccountKeyFile: api.serviceAccountKeyFile,
        dieWithParent,
        apiQps: opts.controllerManagerQps,
      }),
      startNats({ bin: tools.natsServer, dir, dieWithParent, profiling: opts.profiling }),
      startRegistry({ dir: join(dir, 'registry'), dieWithParent }),
      startRegistry({ dir: join(dir, 'registry-auth'), htpasswd: auth, dieWithParent }),
    ]);
    procs.push(kcm.process, nats.process, registry.process, authRegistry.process);

    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig);
    progress('installing CRDs, pushing test images, building the trivy DB fixture');
    const trivyCache = join(dir, 'trivy-cache');
    const [, images] = await Promise.all([
      installCrds(kc),
      pushTestImages(registry),
      pushTestImages(authRegistry, auth),
      buildTrivyDb({ dbfixture: tools.dbfixture, cacheDir: trivyCache }),
    ]);

    const info: StackInfo = {
      dir,
      kubeconfigPath,
      apiserverUrl: api.url,
      natsUrl: nats.url,
      natsMonitorUrl: nats.monitorUrl,
      ...(nats.profUrl && { natsProfUrl: nats.profUrl }),
      registry: { url: registry.url, host: registry.host },
      authRegistry: { url: authRegistry.url, host: authRegistry.host, ...auth },
      trivy: {
        bin: tools.trivy,
        cacheDir: trivyCache,
        version: tools.versions.TRIVY_VERSION ?? '',
        auditor: tools.auditor,
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
      kubeConfig: () => {
        const k = new KubeConfig();
        k.loadFromString(kubeconfig);
        return k;
      },
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
