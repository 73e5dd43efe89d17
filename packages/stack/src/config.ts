import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

const schema = z.object({
  FLEETSCAN_CACHE: z.string().min(1).optional(),
  FLEETSCAN_KEEP_STACK: z.enum(['0', '1', 'true', 'false']).optional(),
  HOME: z.string().optional(),
});

export interface StackConfig {
  /** Where .ci/bootstrap caches pinned binaries, by version. */
  cacheDir: string;
  /** FLEETSCAN_KEEP_STACK=1: keep the stack's directory (logs) after it stops, for debugging. */
  keepDir: boolean;
}

/** Reads the harness's environment once; a bad value names its variable. */
export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid environment: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const home = parsed.data.HOME ?? homedir();
  return {
    cacheDir: parsed.data.FLEETSCAN_CACHE ?? join(home, '.cache', 'fleetscan'),
    keepDir: ['1', 'true'].includes(parsed.data.FLEETSCAN_KEEP_STACK ?? ''),
  };
}
