import { describe, expect, it } from 'vitest';
import { InvalidReferenceError, isInsecureRegistry, parseImageRef } from './imageref.ts';

describe('parseImageRef', () => {
  it.each([
    ['nginx', { registry: 'index.docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['nginx:1.20', { registry: 'index.docker.io', repository: 'library/nginx', tag: '1.20' }],
    ['docker.io/bitnami/redis:7', { registry: 'index.docker.io', repository: 'bitnami/redis', tag: '7' }],
    [
      '127.0.0.1:5000/library/nginx:1.20',
      { registry: '127.0.0.1:5000', repository: 'library/nginx', tag: '1.20' },
    ],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    [
      'ghcr.io/org/team/app:v1.2.3-rc.1',
      { registry: 'ghcr.io', repository: 'org/team/app', tag: 'v1.2.3-rc.1' },
    ],
    [
      `quay.io/x/y@sha256:${'a'.repeat(64)}`,
      { registry: 'quay.io', repository: 'x/y', digest: `sha256:${'a'.repeat(64)}` },
    ],
    [
      `r.io:443/x:1@sha256:${'b'.repeat(64)}`,
      { registry: 'r.io:443', repository: 'x', tag: '1', digest: `sha256:${'b'.repeat(64)}` },
    ],
  ])('%s', (ref, want) => {
    expect(parseImageRef(ref)).toEqual(want);
  });

  it.each(['', 'UPPER/case', 'nginx:bad tag', 'a@sha256:short', 'x//y'])('rejects %j', (ref) => {
    expect(() => parseImageRef(ref)).toThrow(InvalidReferenceError);
  });

  it('treats loopback registries as plain HTTP', () => {
    expect(isInsecureRegistry('127.0.0.1:5000')).toBe(true);
    expect(isInsecureRegistry('localhost:5000')).toBe(true);
    expect(isInsecureRegistry('ghcr.io')).toBe(false);
    expect(isInsecureRegistry('reg.internal:5000', ['reg.internal:5000'])).toBe(true);
  });
});
