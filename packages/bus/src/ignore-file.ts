import { parse } from 'yaml';
import { z } from 'zod';

/**
 * trivy's ignore files, read where fleetscan has to apply them itself: to secrets, which trivy
 * finds once per image and the scanner keeps, so a later request's ignore file is applied to the
 * stored ones here rather than by a new trivy run; and in the watcher, to refuse an unreadable
 * file at start rather than fail every scan with it. Rules as trivy v0.74 has them
 * (pkg/result/ignore.go): `.trivyignore` holds one ID per line (`#` comments, `exp:YYYY-MM-DD`
 * after which the line no longer applies) and applies to every finding type; `.trivyignore.yaml`
 * lists findings per type, each with an `id` and optionally `paths` (doublestar globs over the
 * finding's file), `purls` (vulnerabilities only), `expired_at` and a `statement`.
 */

export interface IgnoreRule {
  id: string;
  /** Globs over the finding's path; none: every path. */
  paths?: string[];
}

const Finding = z.looseObject({
  id: z.string().min(1),
  paths: z.array(z.string()).optional(),
  purls: z.array(z.string()).optional(),
  // YAML 1.2 leaves a bare date a string; trivy reads it as a time.
  expired_at: z.union([z.string(), z.date()]).optional(),
  statement: z.string().optional(),
});
const Findings = z.array(Finding).nullish();
const IgnoreYamlSchema = z
  .looseObject({
    vulnerabilities: Findings,
    misconfigurations: Findings,
    secrets: Findings,
    licenses: Findings,
  })
  .nullable();

export class IgnoreFileError extends Error {
  override readonly name = 'IgnoreFileError';
  readonly code = 'INVALID_IGNORE_FILE' as const;
}

/** The secret rules of a `.trivyignore.yaml` that apply at `now`; throws IgnoreFileError when it is not one. */
export function secretRulesFromYaml(text: string, now: Date): IgnoreRule[] {
  const doc = readYaml(text);
  return (doc?.secrets ?? []).filter((f) => !expired(f.expired_at, now)).map(toRule);
}

/** Checks a `.trivyignore.yaml` as trivy would read it; throws IgnoreFileError with the reason. */
export function checkIgnoreYaml(text: string): void {
  const doc = readYaml(text);
  for (const list of [doc?.vulnerabilities, doc?.misconfigurations, doc?.secrets, doc?.licenses]) {
    for (const f of list ?? []) {
      if (f.expired_at !== undefined && Number.isNaN(dateOf(f.expired_at))) {
        throw new IgnoreFileError(`expired_at of ${f.id} is not a date: ${String(f.expired_at)}`);
      }
    }
  }
}

/**
 * The rules of a `.trivyignore` (text) that apply at `now`: one per line, `#` comments, an
 * `exp:YYYY-MM-DD` after which the line no longer applies; a line with an unreadable date is
 * skipped, as trivy skips it.
 */
export function rulesFromText(text: string, now: Date): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [id, ...rest] = line.split(/\s+/);
    if (!id) continue;
    const exp = rest.find((f) => f.startsWith('exp:'))?.slice(4);
    if (exp !== undefined && expired(exp, now)) continue;
    rules.push({ id });
  }
  return rules;
}

/** Whether a finding with this ID in this file is ignored by one of the rules. */
export function isIgnored(rules: readonly IgnoreRule[], id: string, path: string): boolean {
  return rules.some(
    (r) => r.id === id && (!r.paths || r.paths.some((p) => doublestarToRegExp(p).test(path))),
  );
}

/**
 * A doublestar glob (github.com/bmatcuk/doublestar, what trivy matches ignore paths with) as a
 * RegExp: `**` as a whole path segment matches any number of segments (a final `/**` the
 * directory itself too), `*` and `?` stay within one, `[…]` is a class (`!` or `^` negates),
 * `{a,b}` an alternative.
 */
export function doublestarToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '/' && glob.slice(i) === '/**') {
      // A final `/**` matches the directory itself too.
      re += '(?:/.*)?';
      break;
    }
    const segmentStart = i === 0 || glob[i - 1] === '/';
    if (c === '*' && glob[i + 1] === '*' && segmentStart && (i + 2 === glob.length || glob[i + 2] === '/')) {
      // `**/` matches no segment or any run of them; a final `**` matches the rest.
      if (i + 2 === glob.length) re += '.*';
      else re += '(?:.*/)?';
      i += 2;
      continue;
    }
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, end);
        const negate = body.startsWith('!') || body.startsWith('^');
        if (negate) body = body.slice(1);
        re += `[${negate ? '^' : ''}${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) re += '\\{';
      else {
        const alternatives = glob.slice(i + 1, end).split(',');
        re += `(?:${alternatives.map((a) => doublestarToRegExp(a).source.slice(1, -1)).join('|')})`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) {
      re += escapeChar(glob[++i] as string);
    } else re += escapeChar(c);
  }
  return new RegExp(`^${re}$`);
}

function escapeChar(c: string): string {
  return c.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
}

function readYaml(text: string): z.infer<typeof IgnoreYamlSchema> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new IgnoreFileError(`not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = IgnoreYamlSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new IgnoreFileError(
      `not a .trivyignore.yaml: ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return r.data;
}

function toRule(f: z.infer<typeof Finding>): IgnoreRule {
  return { id: f.id, ...(f.paths && f.paths.length > 0 && { paths: f.paths }) };
}

function dateOf(v: string | Date): number {
  if (v instanceof Date) return v.getTime();
  return Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
}

/** Past its expiry at `now`; an unreadable date counts as expired (trivy skips such a text line). */
function expired(v: string | Date | undefined, now: Date): boolean {
  if (v === undefined) return false;
  const at = dateOf(v);
  return Number.isNaN(at) || at < now.getTime();
}
