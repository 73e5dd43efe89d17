import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createReflector,
  createTransport,
  isKubeError,
  type KubeConnection,
  KubeErrorCode,
  type LoadKubeConfigOptions,
  loadKubeConfig,
  proxyEnvFrom,
} from '@fleetscan/kube';
import { createCertificateAuthority, issueClientCertificate, mintOidcToken } from '@fleetscan/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ConnectProxy, startConnectProxy } from '../support/connect-proxy.ts';
import { type Kube, kubeFor } from '../support/kube.ts';
import { waitFor } from '../support/wait.ts';

/**
 * How @fleetscan/kube reaches the real kube-apiserver of the stack: through an HTTP CONNECT proxy
 * (the environment's or a kubeconfig's proxy-url), with a client certificate, and as an oidc
 * auth-provider user whose tokens come from, and are refreshed at, the stack's OIDC issuer. The test's own setup calls go
 * through client-node with the admin kubeconfig.
 */

const ns = `access-${Date.now().toString(36)}`;
const stack = () => inject('stack');
let kube: Kube;
let dir: string;
let admin: { token: string; caData: string };
const opened: KubeConnection[] = [];
const proxies: ConnectProxy[] = [];

beforeAll(async () => {
  kube = kubeFor(stack().kubeconfigPath);
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-access-'));
  const kc = JSON.parse(await readFile(stack().kubeconfigPath, 'utf8')) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  admin = {
    token: kc.users[0]?.user.token ?? '',
    caData: kc.clusters[0]?.cluster['certificate-authority-data'] ?? '',
  };
  await kube.core.createNamespace({ body: { metadata: { name: ns } } });
  await kube.core.createNamespacedConfigMap({
    namespace: ns,
    body: { metadata: { name: 'seen' }, data: { a: 'b' } },
  });
});

afterAll(async () => {
  for (const c of opened) c.close();
  for (const p of proxies) await p.close();
  await kube.core.deleteNamespace({ name: ns }).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

/** A kubeconfig for the stack's API server at `server` with `user`, loaded with `opts`. */
async function connect(
  name: string,
  opts: { server?: string; cluster?: object; user: object; load?: LoadKubeConfigOptions },
): Promise<KubeConnection> {
  const file = join(dir, `${name}.kubeconfig`);
  await writeFile(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'stack',
          cluster: {
            server: opts.server ?? stack().apiserverUrl,
            'certificate-authority-data': admin.caData,
            ...opts.cluster,
          },
        },
      ],
      users: [{ name, user: opts.user }],
      contexts: [{ name, context: { cluster: 'stack', user: name } }],
      'current-context': name,
    }),
  );
  const conn = loadKubeConfig({ kubeconfigPath: file, ...opts.load });
  opened.push(conn);
  return conn;
}

async function proxy(hosts: string[] = []): Promise<ConnectProxy> {
  const p = await startConnectProxy(hosts);
  proxies.push(p);
  return p;
}

/** Who the API server says we are. */
async function whoAmI(conn: KubeConnection): Promise<{ username?: string; groups?: string[] }> {
  const review = (await createTransport(conn).request(
    {
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    },
    AbortSignal.timeout(30_000),
  )) as { status?: { userInfo?: { username?: string; groups?: string[] } } };
  return review.status?.userInfo ?? {};
}

const port = () => new URL(stack().apiserverUrl).port;

describe('through an HTTP CONNECT proxy', () => {
  it('HTTPS_PROXY: lists, watches and verifies the API server by its own name inside the tunnel', async () => {
    // kubernetes.default.svc is in the API server's certificate; only the proxy knows where it is.
    const p = await proxy(['kubernetes.default.svc']);
    const conn = await connect('via-env', {
      server: `https://kubernetes.default.svc:${port()}`,
      user: { token: admin.token },
      load: { proxy: proxyEnvFrom({ HTTPS_PROXY: p.url, NO_PROXY: 'localhost,10.0.0.0/8' }) },
    });
    expect(conn.proxy).toBe(p.url);

    const version = (await createTransport(conn).getJson('/version', {}, AbortSignal.timeout(30_000))) as {
      gitVersion?: string;
    };
    expect(version.gitVersion).toBe(stack().versions.KUBE_VERSION);

    // A reflector's paged LIST and its long-lived WATCH through the same proxy.
    const events: string[] = [];
    const reflector = createReflector<string>({
      kc: conn,
      resource: { group: '', version: 'v1', plural: 'configmaps' },
      fieldSelector: `metadata.namespace=${ns}`,
      project: (o) => o.metadata?.name,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      onEvent: (e) => events.push(`${e.source}:${e.type}:${e.obj}`),
      pageSize: 1,
    });
    reflector.start();
    try {
      await reflector.synced;
      await kube.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'live' } } });
      await waitFor('the watch event through the proxy', async () =>
        events.includes('watch:ADDED:live') ? true : undefined,
      );
      expect(events).toContain('list:ADDED:seen');
      expect(reflector.health().ok).toBe(true);
    } finally {
      await reflector.stop();
    }
    const target = `kubernetes.default.svc:${port()}`;
    expect(p.seen.length).toBeGreaterThanOrEqual(1);
    expect(p.seen.every((s) => s.method === 'CONNECT' && s.target === target)).toBe(true);
  });

  it('a cluster proxy-url tunnels even to 127.0.0.1, where HTTPS_PROXY alone goes direct (loopback)', async () => {
    const viaUrl = await proxy();
    const conn = await connect('via-proxy-url', {
      cluster: { 'proxy-url': viaUrl.url },
      user: { token: admin.token },
    });
    expect(conn.proxy).toBe(viaUrl.url);
    expect((await whoAmI(conn)).username).toBe('admin');
    expect(viaUrl.seen).toEqual([
      { method: 'CONNECT', target: `127.0.0.1:${port()}`, authorization: undefined },
    ]);

    const unused = await proxy();
    const direct = await connect('env-loopback', {
      user: { token: admin.token },
      load: { proxy: proxyEnvFrom({ https_proxy: unused.url }) },
    });
    expect(direct.proxy).toBeUndefined();
    expect((await whoAmI(direct)).username).toBe('admin');
    expect(unused.seen).toEqual([]);
  });
});

describe('client certificates (mTLS)', () => {
  it('authenticates as the certificate’s user and groups, and RBAC applies to them', async () => {
    const cert = await issueClientCertificate(stack().clientCa, {
      dir,
      user: 'fleetscan-mtls',
      groups: ['fleetscan-readers'],
    });
    await kube.rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'read-configmaps' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
    });
    await kube.rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'readers' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-configmaps' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'fleetscan-readers' }],
      },
    });
    const conn = await connect('mtls', {
      user: { 'client-certificate': cert.certFile, 'client-key': cert.keyFile },
    });
    const me = await whoAmI(conn);
    expect(me.username).toBe('fleetscan-mtls');
    expect(me.groups).toEqual(expect.arrayContaining(['fleetscan-readers', 'system:authenticated']));

    const t = createTransport(conn);
    const list = (await waitFor('the role binding to apply', async () =>
      t.getJson(`/api/v1/namespaces/${ns}/configmaps`, {}, AbortSignal.timeout(30_000)),
    )) as { items: { metadata: { name: string } }[] };
    expect(list.items.map((i) => i.metadata.name)).toContain('seen');
    const secrets = await t
      .getJson(`/api/v1/namespaces/${ns}/secrets`, {}, AbortSignal.timeout(30_000))
      .catch((e: unknown) => e);
    expect(isKubeError(secrets, KubeErrorCode.Forbidden), String(secrets)).toBe(true);
    expect((secrets as Error).message).toContain('User "fleetscan-mtls" cannot list resource "secrets"');
  });

  it('refuses a certificate from a CA the API server does not trust', async () => {
    const other = await createCertificateAuthority(join(dir, 'other-ca'));
    const cert = await issueClientCertificate(other, { dir: join(dir, 'other-ca'), user: 'intruder' });
    const conn = await connect('untrusted', {
      user: { 'client-certificate': cert.certFile, 'client-key': cert.keyFile },
    });
    const err = await whoAmI(conn).catch((e: unknown) => e);
    expect(isKubeError(err, KubeErrorCode.Unauthorized), String(err)).toBe(true);
  });
});

describe('an oidc auth-provider user (openid-client, loaded lazily)', () => {
  const oidc = () => {
    const info = stack().oidc;
    if (!info) throw new Error('the stack was started without its OIDC issuer');
    return info;
  };
  const provider = (config: Record<string, string>) => ({
    'auth-provider': {
      name: 'oidc',
      config: {
        'client-id': oidc().clientId,
        'idp-issuer-url': oidc().url,
        'idp-certificate-authority': oidc().caFile,
        ...config,
      },
    },
  });

  it('presents the id-token, which the API server maps to its user and groups', async () => {
    const idToken = await mintOidcToken(oidc(), { sub: 'alice', groups: ['devs'] });
    const conn = await connect('oidc', { user: provider({ 'id-token': idToken }) });
    // The API server's JWT authenticator fetches the issuer's keys at start and retries until it has them.
    const me = await waitFor('the API server to accept the issuer’s token', async () =>
      whoAmI(conn).catch((err: unknown) => {
        if (isKubeError(err, KubeErrorCode.Unauthorized)) return undefined;
        throw err;
      }),
    );
    expect(me.username).toBe(`${oidc().usernamePrefix}alice`);
    expect(me.groups).toContain(`${oidc().usernamePrefix}devs`);
  });

  it('refreshes an expired id-token at the issuer with the refresh-token', async () => {
    const expired = await mintOidcToken(oidc(), { sub: 'bob', expiresInSeconds: -60 });
    const refresh = await mintOidcToken(oidc(), { sub: 'bob', groups: ['ops'], use: 'refresh' });
    // The expired token alone is refused: what follows is the refresh, not a lenient server.
    const stale = await connect('oidc-stale', { user: { token: expired } });
    expect(isKubeError(await whoAmI(stale).catch((e: unknown) => e), KubeErrorCode.Unauthorized)).toBe(true);

    // A confidential client: the issuer checks the secret (client_secret_basic).
    const wrongSecret = await connect('oidc-wrong-secret', {
      user: provider({ 'id-token': expired, 'refresh-token': refresh, 'client-secret': 'wrong' }),
    });
    const refused = await whoAmI(wrongSecret).catch((e: unknown) => e);
    expect(isKubeError(refused, KubeErrorCode.Config), String(refused)).toBe(true);
    expect((refused as Error).message).toContain('refreshing the id-token');

    const conn = await connect('oidc-refresh', {
      user: provider({ 'id-token': expired, 'refresh-token': refresh, 'client-secret': oidc().clientSecret }),
    });
    const me = await whoAmI(conn);
    expect(me.username).toBe(`${oidc().usernamePrefix}bob`);
    expect(me.groups).toContain(`${oidc().usernamePrefix}ops`);
  });

  it('refreshes after the API server refused an unexpired id-token (401)', async () => {
    const good = await mintOidcToken(oidc(), { sub: 'carol' });
    // Unexpired, but its signature is not the issuer's: the API server answers 401.
    const [header, payload] = good.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    const refresh = await mintOidcToken(oidc(), { sub: 'carol', use: 'refresh' });
    const conn = await connect('oidc-401', {
      user: provider({ 'id-token': forged, 'refresh-token': refresh }),
    });
    expect(isKubeError(await whoAmI(conn).catch((e: unknown) => e), KubeErrorCode.Unauthorized)).toBe(true);
    expect((await whoAmI(conn)).username).toBe(`${oidc().usernamePrefix}carol`);
  });
});
