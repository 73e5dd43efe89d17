import { credentialsAad, type RegistryCredentials, type Sealed, sealCredentials } from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import type { KubeTransport } from '@fleetscan/kube';
import { DOCKER_HUB, parseImageRef } from '@fleetscan/reports';

/**
 * Registry credentials for one owner's image, from the pod spec's
 * imagePullSecrets and its ServiceAccount's, as the kubelet would use them.
 * They are sealed for the scanner fleet before they leave this process and
 * are never logged.
 */
export interface CredentialSource {
  sealedFor(owner: Owner, image: string, cluster: string): Promise<Sealed | undefined>;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
}

/** Picks the entry for `registry` from a .dockerconfigjson, matching host with or without scheme/path. */
export function credentialsFor(config: DockerConfig, registry: string): RegistryCredentials | undefined {
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    const host = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    const same = host === registry || (registry === DOCKER_HUB && /(^|\.)docker\.io$/.test(host));
    if (!same) continue;
    if (entry.username !== undefined && entry.password !== undefined) {
      return { username: entry.username, password: entry.password };
    }
    if (entry.auth) {
      const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = plain.indexOf(':');
      if (i > 0) return { username: plain.slice(0, i), password: plain.slice(i + 1) };
    }
  }
  return undefined;
}

interface ServiceAccount {
  imagePullSecrets?: { name?: string }[];
}

interface Secret {
  data?: Record<string, string>;
}

/** Reads are short: a slow API server delays one owner's request, not the watcher. */
const READ_TIMEOUT_MS = 30_000;

export function createCredentialSource(opts: {
  kube: Pick<KubeTransport, 'getJson'>;
  /** The scanner fleet's public key (PEM); without it no credentials are sent and no Secret is read. */
  publicKeyPem?: string;
  cacheMs?: number;
}): CredentialSource {
  const get = <T>(path: string) =>
    opts.kube.getJson(path, {}, AbortSignal.timeout(READ_TIMEOUT_MS)) as Promise<T>;
  const cache = new Map<string, { at: number; value: Promise<unknown> }>();
  const cached = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < (opts.cacheMs ?? 30_000)) return hit.value as Promise<T>;
    const value = load().catch(() => undefined);
    cache.set(key, { at: Date.now(), value });
    return value as Promise<T>;
  };
  const secretNames = async (owner: Owner): Promise<string[]> => {
    const spec = owner.workload?.podSpec ?? {};
    const own = ((spec.imagePullSecrets as { name?: string }[] | undefined) ?? []).map((s) => s.name ?? '');
    const saName = (spec.serviceAccountName as string | undefined) || 'default';
    const sa = await cached(`sa/${owner.namespace}/${saName}`, () =>
      get<ServiceAccount>(`/api/v1/namespaces/${enc(owner.namespace)}/serviceaccounts/${enc(saName)}`),
    );
    const fromSa = (sa?.imagePullSecrets ?? []).map((s) => s.name ?? '');
    return [...new Set([...own, ...fromSa].filter(Boolean))];
  };
  return {
    async sealedFor(owner, image, cluster) {
      // Without the fleet's key no credentials can be sent: do not read Secrets the watcher may not be allowed to read.
      if (!opts.publicKeyPem) return undefined;
      const names = await secretNames(owner);
      if (names.length === 0) return undefined;
      const registry = parseImageRef(image).registry;
      for (const name of names) {
        const secret = await cached(`secret/${owner.namespace}/${name}`, () =>
          get<Secret>(`/api/v1/namespaces/${enc(owner.namespace)}/secrets/${enc(name)}`),
        );
        const raw = secret?.data?.['.dockerconfigjson'] ?? secret?.data?.['.dockercfg'];
        if (!raw) continue;
        let config: DockerConfig;
        try {
          const parsed = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as DockerConfig &
            DockerConfig['auths'];
          config = parsed.auths ? parsed : { auths: parsed as DockerConfig['auths'] };
        } catch {
          continue;
        }
        const creds = credentialsFor(config, registry);
        if (!creds) continue;
        return sealCredentials(opts.publicKeyPem, creds, credentialsAad(cluster, image));
      }
      return undefined;
    },
  };
}

const enc = encodeURIComponent;
