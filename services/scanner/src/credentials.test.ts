import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { credentialsAad, keyId, sealCredentials } from '@fleetscan/bus';
import { describe, expect, it } from 'vitest';
import { openRequestCredentials } from './credentials.ts';

const pair = () =>
  generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });

describe('openRequestCredentials', () => {
  const fleet = pair();
  const key = { key: createPrivateKey(fleet.privateKey), kid: keyId(fleet.privateKey) };
  const creds = { username: 'robot', password: 'hunter2-but-longer' };
  const req = (cluster: string, image: string, sealedFor = image) => ({
    cluster,
    image,
    credentials: sealCredentials(fleet.publicKey, creds, credentialsAad(cluster, sealedFor)),
  });

  it('opens credentials sealed for this cluster and image', () => {
    expect(openRequestCredentials(req('c1', 'reg/app:1'), key)).toEqual(creds);
  });

  it('is undefined for a request without credentials, key or not', () => {
    expect(openRequestCredentials({ cluster: 'c1', image: 'reg/app:1' }, undefined)).toBeUndefined();
  });

  const failures: [string, () => unknown][] = [
    ['no private key configured', () => openRequestCredentials(req('c1', 'reg/app:1'), undefined)],
    [
      'sealed for another key',
      () => {
        const other = pair();
        return openRequestCredentials(req('c1', 'reg/app:1'), {
          key: createPrivateKey(other.privateKey),
          kid: keyId(other.privateKey),
        });
      },
    ],
    [
      'same kid, wrong key (a forged kid)',
      () => {
        const other = pair();
        return openRequestCredentials(req('c1', 'reg/app:1'), {
          key: createPrivateKey(other.privateKey),
          kid: key.kid,
        });
      },
    ],
    ['replayed for another image', () => openRequestCredentials(req('c1', 'reg/other:1', 'reg/app:1'), key)],
  ];
  it.each(failures)('%s: a permanent CREDENTIALS error that says nothing secret', (_what, fn) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ name: 'CredentialsError', code: 'CREDENTIALS', permanent: true });
    expect((err as Error).cause).toBeUndefined();
    expect(JSON.stringify({ m: (err as Error).message, s: (err as Error).stack })).not.toMatch(
      /hunter2|robot/,
    );
  });
});
