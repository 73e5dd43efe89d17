import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { z } from 'zod';

/**
 * Registry credentials on the bus are sealed for the scanner fleet: a fresh
 * AES-256-GCM key encrypts them and RSA-OAEP-SHA256 wraps that key with the
 * fleet's public key. Only holders of the private key (scanners) can open
 * them; NATS, its store and anyone subscribed see ciphertext. `aad` binds a
 * sealed box to one request (cluster and image) so it cannot be replayed for
 * another image.
 */
export const SealedSchema = z.object({
  alg: z.literal('RSA-OAEP-256+A256GCM'),
  /** sha256 of the public key (SPKI DER), first 16 hex chars: which key to open it with. */
  kid: z.string().max(64),
  /** The wrapped AES key: one RSA block, base64 (8192-bit keys: 1368 characters). */
  key: z.string().max(2048),
  iv: z.string().max(64),
  tag: z.string().max(64),
  /** `{username, password}` encrypted, base64: registry tokens run to a few KB (a GCR JSON key). */
  data: z.string().max(64 * 1024),
});
export type Sealed = z.infer<typeof SealedSchema>;

/** A registry login from a workload's pull secrets, as the watcher seals it and a scanner uses it. */
export const RegistryCredentialsSchema = z.object({ username: z.string(), password: z.string() });
export type RegistryCredentials = z.infer<typeof RegistryCredentialsSchema>;

export function keyId(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export function sealCredentials(publicKeyPem: string, creds: RegistryCredentials, aad: string): Sealed {
  const cek = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cek, iv);
  cipher.setAAD(Buffer.from(aad));
  const data = Buffer.concat([cipher.update(JSON.stringify(creds), 'utf8'), cipher.final()]);
  const key = publicEncrypt(
    { key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    cek,
  );
  return {
    alg: 'RSA-OAEP-256+A256GCM',
    kid: keyId(publicKeyPem),
    key: key.toString('base64'),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

/** Throws if the box was sealed for another key, tampered with, or for another `aad`. */
export function openCredentials(privateKeyPem: string, sealed: Sealed, aad: string): RegistryCredentials {
  const cek = privateDecrypt(
    { key: privateKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    Buffer.from(sealed.key, 'base64'),
  );
  const decipher = createDecipheriv('aes-256-gcm', cek, Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  const plain = Buffer.concat([
    decipher.update(Buffer.from(sealed.data, 'base64')),
    decipher.final(),
  ]).toString('utf8');
  return RegistryCredentialsSchema.parse(JSON.parse(plain));
}

/** The aad binding sealed credentials to one cluster's request for one image. */
export const credentialsAad = (cluster: string, image: string) => `fleetscan/v1/${cluster}/${image}`;
