import { generateKeyPairSync } from 'node:crypto';
import { credentialsAad, openCredentials } from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import { KubeError, KubeErrorCode } from '@fleetscan/kube';
import { describe, expect, it } from 'vitest';
import { createCredentialSource, credentialsFor } from './credentials.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('credentialsFor', () => {
  it('reads auth or username/password for the image registry only', () => {
    const cfg = {
      auths: {
        'https://reg.example.com/v1/': { auth: b64('robot:pa:ss') },
        'other.io': { username: 'u', password: 'p' },
      },
    };
    expect(credentialsFor(cfg, 'reg.example.com')).toEqual({ username: 'robot', password: 'pa:ss' });
    expect(credentialsFor(cfg, 'other.io')).toEqual({ username: 'u', password: 'p' });
    expect(credentialsFor(cfg, 'third.io')).toBeUndefined();
  });

  it('maps Docker Hub spellings', () => {
    expect(
      credentialsFor({ auths: { 'https://index.docker.io/v1/': { auth: b64('a:b') } } }, 'index.docker.io'),
    ).toEqual({
      username: 'a',
      password: 'b',
    });
  });
});

describe('createCredentialSource', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const owner = {
    namespace: 'team-a',
    workload: { podSpec: { serviceAccountName: 'builder', imagePullSecrets: [{ name: 'own' }] } },
  } as unknown as Owner;
  const dockerconfig = (registry: string) => ({
    data: {
      '.dockerconfigjson': b64(JSON.stringify({ auths: { [registry]: { username: 'u', password: 'p' } } })),
    },
  });

  it("reads the pod's and its ServiceAccount's pull secrets through the API paths, and seals the matching one", async () => {
    const paths: string[] = [];
    const objects: Record<string, unknown> = {
      '/api/v1/namespaces/team-a/serviceaccounts/builder': { imagePullSecrets: [{ name: 'from-sa' }] },
      '/api/v1/namespaces/team-a/secrets/own': dockerconfig('other.io'),
      '/api/v1/namespaces/team-a/secrets/from-sa': dockerconfig('reg.example.com'),
    };
    const source = createCredentialSource({
      kube: {
        getJson: async (path) => {
          paths.push(path);
          if (!(path in objects)) throw new KubeError(KubeErrorCode.NotFound, path);
          return objects[path];
        },
      },
      publicKeyPem: publicKey,
    });
    const image = 'reg.example.com/app:1';
    const sealed = await source.sealedFor(owner, image, 'c1');
    expect(paths).toEqual([
      '/api/v1/namespaces/team-a/serviceaccounts/builder',
      '/api/v1/namespaces/team-a/secrets/own',
      '/api/v1/namespaces/team-a/secrets/from-sa',
    ]);
    expect(sealed && openCredentials(privateKey, sealed, credentialsAad('c1', image))).toEqual({
      username: 'u',
      password: 'p',
    });
    // Cached: a second image needs no more reads, and no matching secret means none sent.
    expect(await source.sealedFor(owner, 'third.io/x:1', 'c1')).toBeUndefined();
    expect(paths).toHaveLength(3);
  });

  it('reads nothing without the fleet key', async () => {
    const source = createCredentialSource({
      kube: {
        getJson: () => {
          throw new Error('must not read');
        },
      },
    });
    expect(await source.sealedFor(owner, 'reg.example.com/app:1', 'c1')).toBeUndefined();
  });
});
