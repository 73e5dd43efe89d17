import { describe, expect, it } from 'vitest';
import { parseImageRef } from './image-ref.ts';

describe('parseImageRef (go-containerregistry name.ParseReference rules)', () => {
  it.each([
    ['nginx', { registry: 'index.docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['nginx:1.20', { registry: 'index.docker.io', repository: 'library/nginx', tag: '1.20' }],
    ['docker.io/bitnami/redis:7', { registry: 'index.docker.io', repository: 'bitnami/redis', tag: '7' }],
    ['bitnami/redis', { registry: 'index.docker.io', repository: 'bitnami/redis', tag: 'latest' }],
    [
      '127.0.0.1:5000/library/nginx:1.20',
      { registry: '127.0.0.1:5000', repository: 'library/nginx', tag: '1.20' },
    ],
    ['ghcr.io/a/b/c:v1', { registry: 'ghcr.io', repository: 'a/b/c', tag: 'v1' }],
    ['registry:5000/app', { registry: 'registry:5000', repository: 'app', tag: 'latest' }],
    // No '.' or ':' in the first component: Docker Hub, as go-containerregistry has it.
    ['localhost/app:1', { registry: 'index.docker.io', repository: 'localhost/app', tag: '1' }],
    [
      `quay.io/x/y@sha256:${'a'.repeat(64)}`,
      { registry: 'quay.io', repository: 'x/y', digest: `sha256:${'a'.repeat(64)}` },
    ],
    [
      `nginx:1.20@sha256:${'b'.repeat(64)}`,
      { registry: 'index.docker.io', repository: 'library/nginx', digest: `sha256:${'b'.repeat(64)}` },
    ],
  ])('%s', (ref, parts) => {
    expect(parseImageRef(ref)).toEqual(parts);
  });
});
