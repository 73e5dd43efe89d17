import { type ImageRefParts, parseImageRef } from '@fleetscan/reports';

export class InvalidReferenceError extends Error {
  override readonly name = 'InvalidReferenceError';
  readonly code = 'INVALID_REFERENCE' as const;
}

const REPO = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/**
 * Splits a reference as @fleetscan/reports does (go-containerregistry's rules,
 * which decide the report's registry and artifact) and rejects what a
 * registry would: a bad reference is a permanent failure, found before any
 * network call.
 */
export function parseValidImageRef(ref: string): ImageRefParts {
  const trimmed = ref.trim();
  if (!trimmed) throw new InvalidReferenceError('empty image reference');
  const parts = parseImageRef(trimmed);
  if (!REPO.test(parts.repository))
    throw new InvalidReferenceError(`invalid repository in ${JSON.stringify(ref)}`);
  if (parts.tag !== undefined && !TAG.test(parts.tag))
    throw new InvalidReferenceError(`invalid tag in ${JSON.stringify(ref)}`);
  if (parts.digest !== undefined && !DIGEST.test(parts.digest)) {
    throw new InvalidReferenceError(`invalid digest in ${JSON.stringify(ref)}`);
  }
  return parts;
}

/** Registries reached over plain HTTP, as go-containerregistry (and so trivy) decides. */
export function isInsecureRegistry(host: string, extra: readonly string[] = []): boolean {
  const h = host.replace(/:\d+$/, '');
  return (
    h === 'localhost' ||
    h === '127.0.0.1' ||
    h === '[::1]' ||
    h.endsWith('.localhost') ||
    extra.includes(host)
  );
}
