import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrivyError } from '@fleetscan/trivy';

/** The TrivyError a run rejected with; throws if it did not reject. */
export async function trivyFailure(p: Promise<unknown>): Promise<TrivyError> {
  try {
    await p;
  } catch (err) {
    return err as TrivyError;
  }
  throw new Error('expected the trivy run to fail');
}

/**
 * An ignore file (CVE-2021-22946) and a Rego ignore policy (every finding on curl) in `dir`, for
 * the filter tests on the nginx test image.
 */
export async function writeMatchFilters(dir: string): Promise<{ ignoreFile: string; ignorePolicy: string }> {
  const ignoreFile = join(dir, '.trivyignore');
  const ignorePolicy = join(dir, 'policy.rego');
  await writeFile(ignoreFile, 'CVE-2021-22946\n');
  await writeFile(
    ignorePolicy,
    'package trivy\n\ndefault ignore = false\n\nignore {\n\tinput.PkgName == "curl"\n}\n',
  );
  return { ignoreFile, ignorePolicy };
}
