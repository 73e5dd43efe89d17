import { describe, expect, it } from 'vitest';
import { InvalidReferenceError, isInsecureRegistry, parseValidImageRef } from './imageref.ts';

describe('parseValidImageRef', () => {
  it.each([
    ['nginx', { registry: 'index.docker.io', repository: 'library/nginx', tag: 'latest' }],
    [
      '127.0.0.1:5000/library/nginx:1.20',
      { registry: '127.0.0.1:5000', repository: 'library/nginx', tag: '1.20' },
    ],
    [
      'ghcr.io/org/team/app:v1.2.3-rc.1',
      { registry: 'ghcr.io', repository: 'org/team/app', tag: 'v1.2.3-rc.1' },
    ],
    [
      `quay.io/x/y@sha256:${'a'.repeat(64)}`,
      { registry: 'quay.io', repository: 'x/y', digest: `sha256:${'a'.repeat(64)}` },
    ],
    [
      `quay.io/x/y:v2@sha256:${'a'.repeat(64)}`,
      { registry: 'quay.io', repository: 'x/y', tag: 'v2', digest: `sha256:${'a'.repeat(64)}` },
    ],
  ])('%s', (ref, want) => {
    expect(parseValidImageRef(ref)).toEqual(want);
  });

  it.each([
    '',
    '   ',
    'UPPER/case',
    'nginx:bad tag',
    `nginx:bad tag@sha256:${'a'.repeat(64)}`,
    'a@sha256:short',
    'x//y',
  ])('rejects %j', (ref) => {
    expect(() => parseValidImageRef(ref)).toThrow(InvalidReferenceError);
  });

  it('treats loopback registries as plain HTTP', () => {
    expect(isInsecureRegistry('127.0.0.1:5000')).toBe(true);
    expect(isInsecureRegistry('localhost:5000')).toBe(true);
    expect(isInsecureRegistry('ghcr.io')).toBe(false);
    expect(isInsecureRegistry('reg.internal:5000', ['reg.internal:5000'])).toBe(true);
  });
});
