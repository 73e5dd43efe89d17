import type { z } from 'zod';

/** A configuration variable is missing or invalid; the message names it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID' as const;
  readonly variables: string[];
  constructor(problems: { variable: string; message: string }[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.variables = problems.map((p) => p.variable);
  }
}

export function isConfigError(e: unknown): e is ConfigError {
  return e instanceof ConfigError;
}

/**
 * Parses environment variables with a zod object schema whose keys are the
 * variable names, so every error names the variable that caused it.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const res = schema.safeParse(env);
  if (res.success) return res.data;
  throw new ConfigError(
    res.error.issues.map((i) => ({
      variable: i.path.map(String).join('.') || '(environment)',
      message: i.message,
    })),
  );
}
