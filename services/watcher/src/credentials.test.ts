import { describe, expect, it } from 'vitest';
import { credentialsFor } from './credentials.ts';

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
