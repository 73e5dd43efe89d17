/**
 * Image references, split the way go-containerregistry's name.ParseReference does (the first path
 * component is a registry only if it has a '.' or ':'; Docker Hub is `index.docker.io` and its
 * one-part names get `library/`), and turned into a report's registry and artifact as
 * trivy-operator v0.32 does. Only splits: validity is trivy's call (INVALID_REFERENCE). It lives
 * with the reports because it defines their registry and artifact fields, and so that watcher and
 * writer can split a reference without loading the trivy runner.
 */
export interface ImageRefParts {
  /** e.g. `index.docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** e.g. `library/nginx`. */
  repository: string;
  /**
   * The reference's tag: `latest` when it names neither tag nor digest; for a digest reference
   * only the tag it spells out (`repo:tag@sha256:…`), if any.
   */
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

  if (digest !== undefined) return { registry, repository: path, ...(tag !== undefined && { tag }), digest };
  return { registry, repository: path, tag: tag ?? 'latest' };
}

/** A report's `registry.server` and `artifact` (without the digest the scan adds). */
export interface ReportImageRef {
  registry: { server: string };
  artifact: { repository: string; tag?: string; digest?: string };
}

/**
 * registry and artifact exactly as trivy-operator v0.32 writes them for the image a workload names
 * (pkg/plugins/trivy ParseImageRef, since aquasecurity/trivy-operator#2418): a tag reference gives
 * its tag; a digest reference gives its digest and, as tag, what is left of the reference once
 * `<registry>/<repository>` in canonical form (`index.docker.io/library/nginx`), the `@digest`
 * and a leading `:` are cut off.
 *
 * So `127.0.0.1:5000/app:1.2@sha256:…` has tag `1.2`, `quay.io/x/y@sha256:…` has none, and a
 * Docker Hub reference not spelled canonically keeps its name in the tag: `nginx:1.20@sha256:…`
 * has tag `nginx:1.20`, `docker.io/grafana/grafana:12@sha256:…` has `docker.io/grafana/grafana:12`,
 * `nginx@sha256:…` has `nginx`. That last part is upstream's bug (aquasecurity/trivy-operator#3049,
 * fix proposed in #3056); it is kept so the `image_tag` of fleetscan's metrics and reports match a
 * trivy-operator's for the same workloads. Change it here, in one place, when upstream does.
 */
export function reportImageRef(ref: string): ReportImageRef {
  const parts = parseImageRef(ref);
  const registry = { server: parts.registry };
  if (parts.digest === undefined) {
    return { registry, artifact: { repository: parts.repository, ...(parts.tag && { tag: parts.tag }) } };
  }
  const canonical = `${parts.registry}/${parts.repository}`;
  let rest = ref.startsWith(canonical) ? ref.slice(canonical.length) : ref;
  const suffix = `@${parts.digest}`;
  if (rest.endsWith(suffix)) rest = rest.slice(0, -suffix.length);
  if (rest.startsWith(':')) rest = rest.slice(1);
  return {
    registry,
    artifact: { repository: parts.repository, ...(rest && { tag: rest }), digest: parts.digest },
  };
}
