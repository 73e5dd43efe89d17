import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { isKubeError, KubeErrorCode } from './errors.ts';
import { loadKubeConfig } from './kubeconfig.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-exec-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A plugin that logs each run (its args, one env var and KUBERNETES_EXEC_INFO) to runs.log and
 * prints `body`, in which RUN is replaced by the run number.
 */
async function plugin(body: string, opts: { exit?: number; stderr?: string } = {}): Promise<string> {
  const path = join(dir, 'plugin.sh');
  await writeFile(
    path,
    `#!/bin/sh
echo "$* | $PLUGIN_VAR | $KUBERNETES_EXEC_INFO" >> "${dir}/runs.log"
n=$(wc -l < "${dir}/runs.log" | tr -d ' ')
${opts.stderr ? `echo '${opts.stderr}' >&2` : ''}
cat <<EOF | sed "s/RUN/$n/g"
${body}
EOF
exit ${opts.exit ?? 0}
`,
  );
  await chmod(path, 0o755);
  return path;
}

const runs = async () =>
  (await readFile(join(dir, 'runs.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

async function kubeconfig(exec: object, cluster: object = {}): Promise<string> {
  const file = join(dir, 'kubeconfig');
  await writeFile(
    file,
    stringify({
      clusters: [{ name: 'c', cluster: { server: 'https://k.example:6443', ...cluster } }],
      users: [{ name: 'u', user: { exec } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  return file;
}

const credential = (apiVersion: string, status: object) =>
  JSON.stringify({ apiVersion, kind: 'ExecCredential', status });

const V1 = 'client.authentication.k8s.io/v1';
const V1BETA1 = 'client.authentication.k8s.io/v1beta1';
const env = { PATH: process.env.PATH };

async function authorization(conn: ReturnType<typeof loadKubeConfig>): Promise<unknown> {
  return ((await conn.requestOptions()).headers as Record<string, unknown>).authorization;
}

describe('exec credential plugins', () => {
  it('runs the plugin with its args and env, and caches the token until expirationTimestamp', async () => {
    await plugin(credential(V1, { token: 'token-RUN', expirationTimestamp: '2030-01-01T00:00:00Z' }));
    let now = Date.parse('2029-12-31T23:00:00Z');
    const file = await kubeconfig({
      apiVersion: V1,
      // Relative, with a separator: relative to the kubeconfig's directory, as kubectl resolves it.
      command: './plugin.sh',
      args: ['get-token', '--cluster', 'one'],
      env: [{ name: 'PLUGIN_VAR', value: 'from-kubeconfig' }],
      interactiveMode: 'Never',
    });
    const conn = loadKubeConfig({ kubeconfigPath: file, env, now: () => now });
    expect(await runs()).toEqual([]); // not at load: at the first request
    const [a, b] = await Promise.all([authorization(conn), authorization(conn)]);
    expect([a, b]).toEqual(['Bearer token-1', 'Bearer token-1']);
    expect(await authorization(conn)).toBe('Bearer token-1');
    expect(await runs()).toHaveLength(1);

    const [run] = await runs();
    const [args, envVar, info] = (run ?? '').split(' | ');
    expect(args).toBe('get-token --cluster one');
    expect(envVar).toBe('from-kubeconfig');
    expect(JSON.parse(info ?? '')).toEqual({
      apiVersion: V1,
      kind: 'ExecCredential',
      spec: { interactive: false },
    });

    now = Date.parse('2030-01-01T00:00:00Z');
    expect(await authorization(conn)).toBe('Bearer token-2');
    // After a 401 the transport invalidates: the plugin runs again even before expiry.
    conn.invalidate();
    expect(await authorization(conn)).toBe('Bearer token-3');
  });

  it('uses a client certificate from a v1beta1 plugin, and passes cluster info when asked', async () => {
    await plugin(credential(V1BETA1, { clientCertificateData: 'CERT-PEM', clientKeyData: 'KEY-PEM' }));
    const ca = Buffer.from('CA-PEM').toString('base64');
    const file = await kubeconfig(
      { apiVersion: V1BETA1, command: join(dir, 'plugin.sh'), provideClusterInfo: true },
      {
        'certificate-authority-data': ca,
        'tls-server-name': 'kube.internal',
        extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { audience: 'fleet' } }],
      },
    );
    const conn = loadKubeConfig({ kubeconfigPath: file, env });
    const o = await conn.requestOptions();
    expect(String(o.cert)).toBe('CERT-PEM');
    expect(String(o.key)).toBe('KEY-PEM');
    expect(o.headers).toEqual({});
    const info = JSON.parse((await runs())[0]?.split(' | ')[2] ?? '');
    expect(info.spec).toEqual({
      interactive: false,
      cluster: {
        server: 'https://k.example:6443',
        'tls-server-name': 'kube.internal',
        'certificate-authority-data': ca,
        config: { audience: 'fleet' },
      },
    });
    // No expirationTimestamp: valid until invalidated.
    await conn.requestOptions();
    expect(await runs()).toHaveLength(1);
  });

  it.each([
    [
      'a failing plugin, with its stderr',
      { exit: 3, stderr: 'login required' },
      credential(V1, { token: 't' }),
      /failed \(exit 3\): login required/,
    ],
    [
      'another apiVersion',
      {},
      credential(V1BETA1, { token: 't' }),
      /answered with apiVersion "client.authentication.k8s.io\/v1beta1", configured is "client.authentication.k8s.io\/v1"/,
    ],
    ['no token or certificate', {}, credential(V1, {}), /returned neither a token nor a client certificate/],
    ['output that is not JSON', {}, 'Please log in', /printed something that is not JSON/],
    [
      'a bad expirationTimestamp',
      {},
      credential(V1, { token: 't', expirationTimestamp: 'soon' }),
      /expirationTimestamp "soon" is not a timestamp/,
    ],
  ])('fails with CONFIG for %s', async (_what, opts, body, message) => {
    await plugin(body, opts);
    const conn = loadKubeConfig({
      kubeconfigPath: await kubeconfig({ apiVersion: V1, command: './plugin.sh' }),
      env,
    });
    const err = await conn.requestOptions().catch((e: unknown) => e);
    expect(isKubeError(err, KubeErrorCode.Config), String(err)).toBe(true);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(`exec credential plugin "${join(dir, 'plugin.sh')}"`);
  });

  it('names a plugin that is not installed, with its install hint', async () => {
    const file = await kubeconfig({
      apiVersion: V1,
      command: 'fleetscan-no-such-plugin',
      installHint: 'install it with: brew install no-such-plugin',
    });
    const err = await loadKubeConfig({ kubeconfigPath: file, env })
      .requestOptions()
      .catch((e: unknown) => e);
    expect(isKubeError(err, KubeErrorCode.Config)).toBe(true);
    expect((err as Error).message).toBe(
      'exec credential plugin "fleetscan-no-such-plugin" not found: install it with: brew install no-such-plugin',
    );
  });

  it('kills a plugin that hangs', async () => {
    const path = join(dir, 'plugin.sh');
    await writeFile(path, '#!/bin/sh\nexec sleep 30\n');
    await chmod(path, 0o755);
    const file = await kubeconfig({ apiVersion: V1, command: path });
    const err = await loadKubeConfig({ kubeconfigPath: file, env, execTimeoutMs: 200 })
      .requestOptions()
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/did not finish within 200 ms/);
  });
});
