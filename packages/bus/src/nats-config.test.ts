import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isConfigError, parseEnv } from '@fleetscan/service';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { natsEnv, natsSettings } from './nats-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'fleetscan-nats-config-'));
const file = (name: string, text = 'x') => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const settings = (env: Record<string, string>) => natsSettings(parseEnv(z.object(natsEnv), env));

describe('NATS connection settings', () => {
  it('take every node of NATS_URL, and credentials from a file', () => {
    const seed = file('seed.nk');
    expect(settings({ NATS_URL: 'nats://a:4222, nats://b:4222', NATS_NKEY_FILE: seed })).toEqual({
      servers: ['nats://a:4222', 'nats://b:4222'],
      auth: { kind: 'nkey', file: seed },
    });
    const pw = file('pw');
    expect(settings({ NATS_USER: 'u', NATS_PASSWORD_FILE: pw }).auth).toEqual({
      kind: 'password',
      user: 'u',
      passwordFile: pw,
    });
    const ca = file('ca.pem');
    expect(settings({ NATS_CREDS_FILE: file('u.creds'), NATS_TLS_CA_FILE: ca }).tls).toEqual({ caFile: ca });
  });

  it('refuse a missing file, two ways to authenticate, or a password without a user, naming the variable', () => {
    const fails = (env: Record<string, string>) => {
      try {
        settings(env);
      } catch (err) {
        if (isConfigError(err)) return err.variables;
        throw err;
      }
      return [];
    };
    expect(fails({ NATS_NKEY_FILE: join(dir, 'nope') })).toEqual(['NATS_NKEY_FILE']);
    expect(fails({ NATS_NKEY_FILE: file('s'), NATS_CREDS_FILE: file('c') })).toEqual(['NATS_NKEY_FILE']);
    expect(fails({ NATS_PASSWORD: 'p' })).toEqual(['NATS_USER']);
    expect(fails({ NATS_TLS_CERT_FILE: file('cert') })).toEqual(['NATS_TLS_KEY_FILE']);
  });
});
