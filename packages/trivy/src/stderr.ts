/** How much of trivy's stderr an error keeps: the FATAL line and its causes are at the end. */
export const STDERR_TAIL_CHARS = 4000;

// CSI sequences (colours, cursor moves from progress bars).
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are control characters.
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;

/**
 * Makes stderr safe to put in an error or a log: no ANSI, no credential values (trivy does
 * not print them, but a registry error echoing a URL with userinfo would), only the tail.
 */
export function cleanStderr(
  raw: string,
  secrets: readonly string[] = [],
  maxChars = STDERR_TAIL_CHARS,
): string {
  let s = raw.replace(ANSI, '');
  for (const secret of secrets) {
    if (secret.length > 0) s = s.split(secret).join('[redacted]');
  }
  s = s.trimEnd();
  if (s.length <= maxChars) return s;
  return `[...${s.length - maxChars} chars cut]${s.slice(-maxChars)}`;
}
