import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('writer config', () => {
  it('requires CLUSTER_NAME and parses REPORT_TTL as a duration', () => {
    expect(() => loadConfig({})).toThrow(/CLUSTER_NAME/);
    expect(loadConfig({ CLUSTER_NAME: 'a', REPORT_TTL: '90m' }).reportTtlSeconds).toBe(5400);
    expect(() => loadConfig({ CLUSTER_NAME: 'a', REPORT_TTL: 'soon' })).toThrow(/REPORT_TTL/);
  });

  it('reads the API server proxy variables once, as client-go does', () => {
    const env = { CLUSTER_NAME: 'a', HTTPS_PROXY: '', https_proxy: 'http://proxy:3128', NO_PROXY: '.svc' };
    expect(loadConfig(env).kubeProxy).toEqual({
      httpsProxy: 'http://proxy:3128',
      httpProxy: undefined,
      noProxy: '.svc',
      cgi: false,
    });
  });
});
