import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isKubeError, KubeErrorCode } from './errors.ts';
import { loadKubeConfig } from './kubeconfig.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-kube-'));
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

const kubeconfig = (server: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user: { token: 'file-token' } }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x',
  });

async function authHeader(kc: ReturnType<typeof loadKubeConfig>): Promise<unknown> {
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return (opts.headers as Record<string, unknown> | undefined)?.Authorization;
}

describe('loadKubeConfig', () => {
  it('loads the given file, even when in-cluster files exist', async () => {
    const file = join(dir, 'kubeconfig');
    await writeFile(file, kubeconfig('https://10.1.2.3:6443'));
    await writeFile(join(dir, 'token'), 'sa-token');
    await writeFile(join(dir, 'ca.crt'), 'ca');
    const kc = loadKubeConfig({
      kubeconfigPath: file,
      serviceAccountDir: dir,
      env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
    });
    expect(kc.getCurrentCluster()?.server).toBe('https://10.1.2.3:6443');
    expect(await authHeader(kc)).toBe('Bearer file-token');
  });

  it('fails with CONFIG naming the file when it is missing or broken', async () => {
    const missing = join(dir, 'nope');
    const err = (() => {
      try {
        loadKubeConfig({ kubeconfigPath: missing });
      } catch (e) {
        return e;
      }
    })();
    expect(isKubeError(err, KubeErrorCode.Config)).toBe(true);
    expect((err as Error).message).toContain(missing);

    const noCluster = join(dir, 'empty');
    await writeFile(
      noCluster,
      JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] }),
    );
    expect(() => loadKubeConfig({ kubeconfigPath: noCluster })).toThrow(/no current context or cluster/);
  });

  it('uses the in-cluster service account when its files and the service env exist', async () => {
    await writeFile(join(dir, 'token'), 'sa-token');
    await writeFile(join(dir, 'ca.crt'), 'ca');
    await writeFile(join(dir, 'namespace'), 'fleetscan\n');
    const kc = loadKubeConfig({
      serviceAccountDir: dir,
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
    });
    expect(kc.getCurrentCluster()).toMatchObject({
      server: 'https://[fd00::1]:443',
      caFile: join(dir, 'ca.crt'),
    });
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('fleetscan');
    expect(await authHeader(kc)).toBe('Bearer sa-token');
  });

  it('falls back to client-node default loading ($KUBECONFIG) without in-cluster env', async () => {
    const file = join(dir, 'kubeconfig');
    await writeFile(file, kubeconfig('https://10.9.9.9:6443'));
    vi.stubEnv('KUBECONFIG', file);
    const kc = loadKubeConfig({ serviceAccountDir: dir, env: {} });
    expect(kc.getCurrentCluster()?.server).toBe('https://10.9.9.9:6443');
  });

  it('fails with CONFIG instead of silently using http://localhost:8080 when nothing is configured', () => {
    vi.stubEnv('KUBECONFIG', '');
    vi.stubEnv('HOME', dir);
    expect(() => loadKubeConfig({ serviceAccountDir: join(dir, 'none'), env: {} })).toThrow(/no kubeconfig/);
  });
});
