import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('watcher config', () => {
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
