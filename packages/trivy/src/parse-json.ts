import type { z } from 'zod';
import { TrivyError, TrivyErrorCode } from './errors.ts';

/** JSON.parse plus a schema; any mismatch is a PARSE TrivyError naming the first few issues. */
export function parseJson<S extends z.ZodType>(text: string, schema: S, what: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TrivyError(TrivyErrorCode.Parse, `${what}: not JSON (${text.length} chars)`, { cause: err });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new TrivyError(TrivyErrorCode.Parse, `${what}: unexpected shape: ${issues}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
