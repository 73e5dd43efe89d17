import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('watcher config', () => {
  it('refuses scan settings past the message limits at start, naming the variable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetscan-watcher-config-'));
    dirs.push(dir);
    const policy = join(dir, 'policy.rego');
    await writeFile(policy, `package trivy\n${'#'.repeat(70_000)}\n`);
    expect(() => loadConfig({ CLUSTER_NAME: 'c1', IGNORE_POLICY: policy })).toThrow(/IGNORE_POLICY: Too big/);
    expect(loadConfig({ CLUSTER_NAME: 'c1', SKIP_DIRS: '/usr/share/doc' }).settings).toEqual({
      skipDirs: ['/usr/share/doc'],
    });
  });
  it('reads the API server proxy variables once, as client-go does', () => {
    const env = {
      CLUSTER_NAME: 'a',
      HTTPS_PROXY: 'http://proxy:3128',
      https_proxy: 'http://other:1',
      no_proxy: '10.0.0.0/8',
    };
    expect(loadConfig(env).kubeProxy).toEqual({
      httpsProxy: 'http://proxy:3128',
      httpProxy: undefined,
      noProxy: '10.0.0.0/8',
      cgi: false,
    });
  });
});
