import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { credentialsAad, keyId, openCredentials, sealCredentials } from './seal.ts';

const pair = () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pub: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    priv: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
};

describe('sealed registry credentials', () => {
  const k = pair();
  const aad = credentialsAad('prod', 'reg.io/app:1');
  const creds = { username: 'robot', password: 's3cret-pass' };

  it('round-trips and never carries the password in clear', () => {
    const box = sealCredentials(k.pub, creds, aad);
    expect(JSON.stringify(box)).not.toContain('s3cret');
    expect(box.kid).toBe(keyId(k.pub));
    expect(openCredentials(k.priv, box, aad)).toEqual(creds);
  });

  it('cannot be opened for another image, with another key, or after tampering', () => {
    const box = sealCredentials(k.pub, creds, aad);
    expect(() => openCredentials(k.priv, box, credentialsAad('prod', 'reg.io/other:1'))).toThrow();
    expect(() => openCredentials(pair().priv, box, aad)).toThrow();
    const data = Buffer.from(box.data, 'base64');
    data[0] = (data[0] ?? 0) ^ 1;
    expect(() => openCredentials(k.priv, { ...box, data: data.toString('base64') }, aad)).toThrow();
  });
});
