import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseEnv } from './env.ts';

describe('parseEnv', () => {
  const schema = z.object({
    CLUSTER_NAME: z.string().regex(/^[a-z]+$/),
    PORT: z.coerce.number().int().default(8080),
  });

  it('parses and applies defaults', () => {
    expect(parseEnv(schema, { CLUSTER_NAME: 'prod' })).toEqual({ CLUSTER_NAME: 'prod', PORT: 8080 });
  });

  it('names every bad variable', () => {
    try {
      parseEnv(schema, { CLUSTER_NAME: 'Prod!', PORT: 'x' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variables.sort()).toEqual(['CLUSTER_NAME', 'PORT']);
      expect((err as Error).message).toMatch(/CLUSTER_NAME:/);
    }
  });
});
