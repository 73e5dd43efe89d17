import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { type ManagedProcess, startProcess, waitReady } from './process.ts';

export interface ApiServer {
  readonly url: string;
  /** PEM bundle the apiserver generated for itself; trust it as the CA. */
  readonly caPem: string;
  /** Bearer token of a system:masters user. */
  readonly adminToken: string;
  readonly serviceAccountKeyFile: string;
  readonly process: ManagedProcess;
  /** Its audit log (JSON lines), when started with `auditNamespaces`. */
  readonly auditLog?: string;
}

export async function startApiServer(opts: {
  bin: string;
  dir: string;
  etcdUrl: string;
  /** Key prefix in etcd: several API servers (clusters) share one etcd, each under its own. */
  etcdPrefix?: string;
  dieWithParent: boolean;
  /** Serve /debug/pprof (admin token only) for CPU profiles of the API server. */
  profiling?: boolean | undefined;
  /** Trust client certificates this CA issued (user = CN, groups = O). */
  clientCaFile?: string | undefined;
  /** An AuthenticationConfiguration (JWT issuers) to load. */
  authenticationConfigFile?: string | undefined;
  /** Audit the writes in these namespaces (auditPolicy). */
  auditNamespaces?: readonly string[] | undefined;
}): Promise<ApiServer> {
  const dir = join(opts.dir, 'apiserver');
  const certDir = join(dir, 'certs');
  await mkdir(certDir, { recursive: true });
  const port = await freePort();
  const adminToken = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'tokens.csv');
  await writeFile(tokenFile, `${adminToken},admin,admin,system:masters\n`, { mode: 0o600 });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  await writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  const auditNamespaces = opts.auditNamespaces ?? [];
  const audit = auditNamespaces.length
    ? { policy: join(dir, 'audit-policy.json'), log: join(dir, 'audit.log') }
    : undefined;
  if (audit) await writeFile(audit.policy, `${JSON.stringify(auditPolicy(auditNamespaces), null, 2)}\n`);

  const proc = startProcess({
    name: 'kube-apiserver',
    command: opts.bin,
    logFile: join(opts.dir, 'kube-apiserver.log'),
    dieWithParent: opts.dieWithParent,
    args: [
      `--etcd-servers=${opts.etcdUrl}`,
      ...(opts.etcdPrefix ? [`--etcd-prefix=${opts.etcdPrefix}`] : []),
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      // No TLS files given: the apiserver generates a self-signed pair here.
      `--cert-dir=${certDir}`,
      `--token-auth-file=${tokenFile}`,
      ...(opts.clientCaFile ? [`--client-ca-file=${opts.clientCaFile}`] : []),
      ...(opts.authenticationConfigFile ? [`--authentication-config=${opts.authenticationConfigFile}`] : []),
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      `--profiling=${opts.profiling === true}`,
      ...(audit
        ? [`--audit-policy-file=${audit.policy}`, `--audit-log-path=${audit.log}`, '--audit-log-format=json']
        : []),
      '--v=1',
    ],
  });
  const url = `https://127.0.0.1:${port}`;
  let caPem = '';
  await waitReady(
    proc,
    async () => {
      caPem ||= await readFile(join(certDir, 'apiserver.crt'), 'utf8');
      return (await get(`${url}/readyz`, caPem, adminToken)) === 200;
    },
    90_000,
  );
  return {
    url,
    caPem,
    adminToken,
    serviceAccountKeyFile: saKey,
    process: proc,
    ...(audit && { auditLog: audit.log }),
  };
}

/**
 * An audit policy that logs, at Metadata level, each create, update and patch in `namespaces` once it
 * is answered: who sent it, when it arrived and when it was answered (the API server's own clock).
 * Nothing else is logged, so the cost stays with those requests.
 */
function auditPolicy(namespaces: readonly string[]): Record<string, unknown> {
  return {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [
      { level: 'Metadata', namespaces: [...namespaces], verbs: ['create', 'update', 'patch'] },
      { level: 'None' },
    ],
  };
}

/** A GET that trusts `ca`; returns the status code. */
export function get(url: string, ca: string | undefined, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ...(ca ? { ca } : { rejectUnauthorized: false }),
        headers: token ? { authorization: `Bearer ${token}` } : {},
        timeout: 5000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout GET ${url}`)));
    req.on('error', reject);
    req.end();
  });
}
