/**
 * The globs of fleetscan's settings (namespaces, images, owner names): `*` matches any run of
 * characters, `?` one character; everything else is literal, and the whole string must match.
 */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
