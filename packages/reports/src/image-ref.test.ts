import { describe, expect, it } from 'vitest';
import { parseImageRef, reportImageRef } from './image-ref.ts';

const A = `sha256:${'a'.repeat(64)}`;

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
    [`quay.io/x/y@${A}`, { registry: 'quay.io', repository: 'x/y', digest: A }],
    // A digest reference keeps the tag it spells out (not `latest` when it has none).
    [`nginx:1.20@${A}`, { registry: 'index.docker.io', repository: 'library/nginx', tag: '1.20', digest: A }],
    [`registry:5000/app:2@${A}`, { registry: 'registry:5000', repository: 'app', tag: '2', digest: A }],
  ])('%s', (ref, parts) => {
    expect(parseImageRef(ref)).toEqual(parts);
  });
});

describe('reportImageRef (trivy-operator v0.32 ParseImageRef)', () => {
  it.each([
    // Tag references: the tag, `latest` when none is named.
    ['nginx', 'index.docker.io', { repository: 'library/nginx', tag: 'latest' }],
    ['ghcr.io/a/b:v1', 'ghcr.io', { repository: 'a/b', tag: 'v1' }],
    // Digest references with the registry and repository spelled canonically: the tag is kept.
    [
      `127.0.0.1:5000/library/nginx:1.20@${A}`,
      '127.0.0.1:5000',
      { repository: 'library/nginx', tag: '1.20', digest: A },
    ],
    [`ghcr.io/org/app:v1.2.3@${A}`, 'ghcr.io', { repository: 'org/app', tag: 'v1.2.3', digest: A }],
    [
      `index.docker.io/library/nginx:1.20@${A}`,
      'index.docker.io',
      { repository: 'library/nginx', tag: '1.20', digest: A },
    ],
    // Without a tag: none.
    [`quay.io/x/y@${A}`, 'quay.io', { repository: 'x/y', digest: A }],
    [`127.0.0.1:5000/app@${A}`, '127.0.0.1:5000', { repository: 'app', digest: A }],
    // Docker Hub spelled otherwise: upstream keeps the reference's name in the tag (#3049).
    [`nginx:1.20@${A}`, 'index.docker.io', { repository: 'library/nginx', tag: 'nginx:1.20', digest: A }],
    [
      `docker.io/grafana/grafana:12.1.0@${A}`,
      'index.docker.io',
      { repository: 'grafana/grafana', tag: 'docker.io/grafana/grafana:12.1.0', digest: A },
    ],
    [
      `dockurr/chrony:4.8@${A}`,
      'index.docker.io',
      { repository: 'dockurr/chrony', tag: 'dockurr/chrony:4.8', digest: A },
    ],
    [`nginx@${A}`, 'index.docker.io', { repository: 'library/nginx', tag: 'nginx', digest: A }],
  ])('%s', (ref, server, artifact) => {
    expect(reportImageRef(ref)).toEqual({ registry: { server }, artifact });
  });
});
