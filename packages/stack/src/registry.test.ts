import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registryConfig } from './registry.ts';

describe('registryConfig', () => {
  it('plain HTTP on the given address, filesystem storage, deletes on', () => {
    const config = parse(registryConfig({ addr: '127.0.0.1:5123', dataDir: '/tmp/a dir/data', secret: 's' }));
    expect(config).toMatchObject({
      version: 0.1,
      http: { addr: '127.0.0.1:5123', secret: 's' },
      storage: { filesystem: { rootdirectory: '/tmp/a dir/data' }, delete: { enabled: true } },
    });
    expect(config.http.tls).toBeUndefined();
    expect(config.auth).toBeUndefined();
  });

  it('adds htpasswd auth when given a password file, and a fresh secret each time', () => {
    const a = parse(registryConfig({ addr: '127.0.0.1:1', dataDir: '/d', htpasswdPath: '/d/htpasswd' }));
    const b = parse(registryConfig({ addr: '127.0.0.1:1', dataDir: '/d' }));
    expect(a.auth).toEqual({ htpasswd: { realm: 'fleetscan', path: '/d/htpasswd' } });
    expect(a.http.secret).toMatch(/^[0-9a-f]{48}$/);
    expect(a.http.secret).not.toBe(b.http.secret);
  });
});
