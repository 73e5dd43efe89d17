/**
 * Splits an image reference the way go-containerregistry's name.ParseReference does, because
 * that is where trivy-operator gets report.registry.server and report.artifact from
 * (pkg/plugins/trivy/plugin.go parseImageRef): the first path component is a registry only if
 * it has a '.' or ':'; Docker Hub is `index.docker.io` and its one-part names get `library/`.
 * Only splits: validity is trivy's call (INVALID_REFERENCE). It lives with the reports because it
 * defines their registry and artifact fields, and so that watcher and writer can split a reference
 * without loading the trivy runner.
 */
export interface ImageRefParts {
  /** e.g. `index.docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** e.g. `library/nginx`. */
  repository: string;
  /** Absent for a digest reference (go-containerregistry drops the tag of `repo:tag@digest`). */
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'index.docker.io';

export function parseImageRef(ref: string): ImageRefParts {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;

  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':'));
  let registry = hasRegistry ? first : DOCKER_HUB;
  if (registry === 'docker.io') registry = DOCKER_HUB;
  let path = hasRegistry ? name.slice(slash + 1) : name;

  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon > path.lastIndexOf('/')) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;

  if (digest !== undefined) return { registry, repository: path, digest };
  return { registry, repository: path, tag: tag ?? 'latest' };
}
