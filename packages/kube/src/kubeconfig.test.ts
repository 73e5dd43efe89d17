import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { KubeConnection } from './connection.ts';
import { isKubeError, KubeErrorCode } from './errors.ts';
import { loadKubeConfig } from './kubeconfig.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-kube-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const kubeconfig = (server: string, user: object = { token: 'file-token' }) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x',
  });

async function authHeader(conn: KubeConnection): Promise<unknown> {
  return ((await conn.requestOptions()).headers as Record<string, unknown>).authorization;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

function expectConfigError(fn: () => unknown, message: RegExp | string): void {
  const err = thrown(fn);
  expect(isKubeError(err, KubeErrorCode.Config), String(err)).toBe(true);
  expect(err.message).toMatch(message);
}

describe('loadKubeConfig: where the configuration comes from', () => {
  it('loads the given file, even when in-cluster files exist', async () => {
    const file = join(dir, 'kubeconfig');
    await writeFile(file, kubeconfig('https://10.1.2.3:6443/'));
    await writeFile(join(dir, 'token'), 'sa-token');
    await writeFile(join(dir, 'ca.crt'), 'ca');
    const conn = loadKubeConfig({
      kubeconfigPath: file,
      serviceAccountDir: dir,
      env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
    });
    expect(conn.server).toBe('https://10.1.2.3:6443');
    expect(conn.source).toBe(`kubeconfig file ${file}, context "x"`);
    expect(await authHeader(conn)).toBe('Bearer file-token');
    expect((await conn.requestOptions()).agent).toBe(conn.agent);
  });

  it('fails with CONFIG naming the file when it is missing or broken', async () => {
    const missing = join(dir, 'nope');
    const err = thrown(() => loadKubeConfig({ kubeconfigPath: missing }));
    expect(isKubeError(err, KubeErrorCode.Config)).toBe(true);
    expect(err.message).toContain(missing);

    const noCluster = join(dir, 'empty');
    await writeFile(
      noCluster,
      JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] }),
    );
    expectConfigError(() => loadKubeConfig({ kubeconfigPath: noCluster }), /no current context or cluster/);

    const broken = join(dir, 'broken');
    await writeFile(broken, 'clusters: [unclosed\n');
    expectConfigError(() => loadKubeConfig({ kubeconfigPath: broken }), `${broken} is not valid YAML`);
  });

  it('uses the in-cluster service account when its files and the service env exist, re-reading the token', async () => {
    await writeFile(join(dir, 'token'), 'sa-token\n');
    await writeFile(join(dir, 'ca.crt'), 'the-ca');
    await writeFile(join(dir, 'namespace'), 'fleetscan\n');
    let now = 1_000_000;
    const conn = loadKubeConfig({
      serviceAccountDir: dir,
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      now: () => now,
    });
    expect(conn.server).toBe('https://[fd00::1]:443');
    expect(conn.namespace).toBe('fleetscan');
    expect(conn.source).toBe(`in-cluster service account (${dir})`);
    const opts = await conn.requestOptions();
    expect(opts.ca?.toString()).toBe('the-ca');
    expect(opts.rejectUnauthorized).toBe(true);
    expect(await authHeader(conn)).toBe('Bearer sa-token');

    // The kubelet rotates projected tokens: the file is read again after a minute, not before.
    await writeFile(join(dir, 'token'), 'rotated');
    now += 30_000;
    expect(await authHeader(conn)).toBe('Bearer sa-token');
    now += 31_000;
    expect(await authHeader(conn)).toBe('Bearer rotated');
  });

  it('falls back to $KUBECONFIG without in-cluster env', async () => {
    const file = join(dir, 'kubeconfig');
    await writeFile(file, kubeconfig('https://10.9.9.9:6443'));
    const conn = loadKubeConfig({ serviceAccountDir: dir, env: { KUBECONFIG: file } });
    expect(conn.server).toBe('https://10.9.9.9:6443');
  });

  it('then ~/.kube/config', async () => {
    await mkdir(join(dir, '.kube'));
    await writeFile(join(dir, '.kube', 'config'), kubeconfig('https://10.7.7.7:6443'));
    const conn = loadKubeConfig({ serviceAccountDir: join(dir, 'none'), env: { HOME: dir } });
    expect(conn.server).toBe('https://10.7.7.7:6443');
  });

  it('fails with CONFIG instead of guessing http://localhost:8080 when nothing is configured', () => {
    expectConfigError(
      () => loadKubeConfig({ serviceAccountDir: join(dir, 'none'), env: { HOME: dir } }),
      /no kubeconfig: none given, no in-cluster service account, no \$KUBECONFIG and no .*\.kube\/config/,
    );
    expectConfigError(
      () => loadKubeConfig({ serviceAccountDir: join(dir, 'none'), env: { KUBECONFIG: join(dir, 'a') } }),
      /no kubeconfig: .*no file in \$KUBECONFIG/,
    );
  });
});

describe('loadKubeConfig: merging a $KUBECONFIG list as kubectl does', () => {
  it('takes each name and current-context from the first file that has it, skipping missing files', async () => {
    const first = join(dir, 'first');
    const second = join(dir, 'second');
    await writeFile(
      first,
      stringify({
        clusters: [{ name: 'c', cluster: { server: 'https://first:6443' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'ns1' } }],
        'current-context': 'x',
      }),
    );
    await writeFile(
      second,
      stringify({
        clusters: [
          { name: 'c', cluster: { server: 'https://second:6443' } },
          { name: 'other', cluster: { server: 'https://other:6443' } },
        ],
        users: [{ name: 'u', user: { token: 'from-second' } }],
        contexts: [
          { name: 'x', context: { cluster: 'other', user: 'u' } },
          { name: 'y', context: { cluster: 'other', user: 'u' } },
        ],
        'current-context': 'y',
      }),
    );
    const KUBECONFIG = [join(dir, 'missing'), first, '', second].join(':');
    const conn = loadKubeConfig({ serviceAccountDir: dir, env: { KUBECONFIG } });
    expect(conn.server).toBe('https://first:6443');
    expect(conn.namespace).toBe('ns1');
    expect(await authHeader(conn)).toBe('Bearer from-second');

    const y = loadKubeConfig({ serviceAccountDir: dir, env: { KUBECONFIG }, context: 'y' });
    expect(y.server).toBe('https://other:6443');
    // The service passes $KUBECONFIG as its explicit path: a list there merges the same way.
    expect(loadKubeConfig({ kubeconfigPath: KUBECONFIG }).server).toBe('https://first:6443');
  });
});

describe('loadKubeConfig: clusters and users', () => {
  async function load(cluster: object, user: object | undefined, sub = '') {
    const d = join(dir, sub);
    await mkdir(d, { recursive: true });
    const file = join(d, 'kubeconfig');
    await writeFile(
      file,
      stringify({
        clusters: [{ name: 'c', cluster: { server: 'https://k:6443', ...cluster } }],
        users: user ? [{ name: 'u', user }] : [],
        contexts: [{ name: 'x', context: { cluster: 'c', ...(user && { user: 'u' }) } }],
        'current-context': 'x',
      }),
    );
    return loadKubeConfig({ kubeconfigPath: file });
  }
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it('reads CA, client certificate, key and token files relative to the kubeconfig directory', async () => {
    await mkdir(join(dir, 'conf', 'pki'), { recursive: true });
    await writeFile(join(dir, 'conf', 'pki', 'ca.pem'), 'CA');
    await writeFile(join(dir, 'conf', 'pki', 'client.pem'), 'CERT');
    await writeFile(join(dir, 'conf', 'pki', 'client-key.pem'), 'KEY');
    await writeFile(join(dir, 'conf', 'token'), 'tok\n');
    const conn = await load(
      { 'certificate-authority': 'pki/ca.pem', 'tls-server-name': 'kube.internal' },
      { 'client-certificate': 'pki/client.pem', 'client-key': 'pki/client-key.pem', tokenFile: 'token' },
      'conf',
    );
    const o = await conn.requestOptions();
    expect([o.ca, o.cert, o.key].map(String)).toEqual(['CA', 'CERT', 'KEY']);
    expect(o.servername).toBe('kube.internal');
    expect(o.rejectUnauthorized).toBe(true);
    expect(await authHeader(conn)).toBe('Bearer tok');
  });

  it('prefers inline -data to files, and reports a missing file by name', async () => {
    const conn = await load(
      { 'certificate-authority': 'nope.pem', 'certificate-authority-data': b64('CA-DATA') },
      { 'client-certificate-data': b64('C'), 'client-key-data': b64('K') },
    );
    const o = await conn.requestOptions();
    expect([o.ca, o.cert, o.key].map(String)).toEqual(['CA-DATA', 'C', 'K']);
    expect(o.headers).toEqual({});

    await expect(load({ 'certificate-authority': 'nope.pem' }, undefined)).rejects.toThrow(
      `certificate authority file ${join(dir, 'nope.pem')} cannot be read`,
    );
  });

  it('skips verification only when told, and never together with a CA', async () => {
    const conn = await load({ 'insecure-skip-tls-verify': true }, { username: 'admin', password: 's3cret' });
    const o = await conn.requestOptions();
    expect(o.rejectUnauthorized).toBe(false);
    expect(await authHeader(conn)).toBe(`Basic ${b64('admin:s3cret')}`);
    await expect(
      load({ 'insecure-skip-tls-verify': true, 'certificate-authority-data': b64('CA') }, undefined),
    ).rejects.toThrow(/insecure-skip-tls-verify and a certificate authority cannot both be set/);
  });

  it('refuses what it cannot honour, saying what to use instead', async () => {
    const cases: [object, object | undefined, RegExp][] = [
      [
        {},
        { 'auth-provider': { name: 'gcp', config: {} } },
        /auth-provider "gcp" is not supported \(only oidc is\); use an exec credential plugin/,
      ],
      [
        {},
        {
          token: 't',
          'auth-provider': { name: 'oidc', config: { 'client-id': 'c', 'idp-issuer-url': 'https://i' } },
        },
        /more than one authentication method \(token, auth-provider \(oidc\)\)/,
      ],
      [{ 'proxy-url': 'socks5://proxy:1080' }, undefined, /proxy-url: socks5 proxies are not supported/],
      [{}, { token: 't', as: 'someone' }, /impersonation \(as\) is not supported/],
      [
        {},
        { token: 't', username: 'a', password: 'b' },
        /more than one authentication method \(token, basic auth/,
      ],
      [{}, { username: 'a' }, /basic auth needs both username and password/],
      [
        {},
        { 'client-certificate-data': b64('C') },
        /client-certificate and client-key must be given together/,
      ],
      [{ server: 'ftp://k' }, undefined, /must be https:\/\/ or http:\/\//],
      [
        {},
        { exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' } },
        /apiVersion "client.authentication.k8s.io\/v1alpha1" is not supported/,
      ],
      [
        {},
        { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x', interactiveMode: 'Always' } },
        /interactiveMode Always needs a terminal/,
      ],
    ];
    for (const [cluster, user, message] of cases) {
      const err = await load(cluster, user).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isKubeError(err, KubeErrorCode.Config), `${String(err)} for ${message}`).toBe(true);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain(`kubeconfig file ${join(dir, 'kubeconfig')}, context "x"`);
    }
  });

  it('names a context, cluster or user that is not defined', async () => {
    const file = join(dir, 'kubeconfig');
    const write = (contexts: object[], current: string) =>
      writeFile(
        file,
        stringify({
          clusters: [{ name: 'c', cluster: { server: 'https://k' } }],
          users: [],
          contexts,
          'current-context': current,
        }),
      );
    await write([{ name: 'x', context: { cluster: 'c' } }], 'y');
    expectConfigError(() => loadKubeConfig({ kubeconfigPath: file }), /context "y" is not defined/);
    await write([{ name: 'x', context: { cluster: 'd' } }], 'x');
    expectConfigError(() => loadKubeConfig({ kubeconfigPath: file }), /cluster "d" is not defined/);
    await write([{ name: 'x', context: { cluster: 'c', user: 'v' } }], 'x');
    expectConfigError(() => loadKubeConfig({ kubeconfigPath: file }), /user "v" is not defined/);
  });
});
