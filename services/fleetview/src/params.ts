import { CLUSTER_NAME_PATTERN, MAX_DIGEST_LENGTH } from '@fleetscan/bus';
import { SEVERITIES, type Severity } from '@fleetscan/reports';
import { z } from 'zod';

/**
 * What the API accepts, per parameter: every value bounded and shaped before it reaches a query,
 * unknown or repeated parameters refused, so bad input is a 400 that says which parameter.
 */
export const MAX_PAGE_SIZE = 500;
/** CSV is an export: larger pages, still bounded. */
export const MAX_CSV_PAGE_SIZE = 10_000;
export const MAX_OFFSET = 1_000_000;
export const MAX_URL_LENGTH = 4096;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const VulnerabilityId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:+-]*$/, 'a vulnerability id such as CVE-2024-1234 or GHSA-xxxx-xxxx-xxxx');
export const DigestParam = z
  .string()
  .max(MAX_DIGEST_LENGTH)
  .regex(/^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/, 'an image digest sha256:<64 hex digits>');

const cluster = z.string().max(63).regex(CLUSTER_NAME_PATTERN, 'a cluster name (a DNS label)').optional();
const namespace = z.string().max(63).regex(DNS_LABEL, 'a namespace (a DNS label)').optional();
const severity = z
  .string()
  .max(64)
  .transform((s, ctx) => {
    const list = s.split(',').map((x) => x.trim().toUpperCase());
    for (const x of list) {
      if (!(SEVERITIES as readonly string[]).includes(x)) {
        ctx.addIssue({ code: 'custom', message: `one or more of ${SEVERITIES.join(', ')}, comma-separated` });
        return z.NEVER;
      }
    }
    return [...new Set(list)] as Severity[];
  })
  .optional();
const bool = z.enum(['true', 'false', '1', '0']).transform((s) => s === 'true' || s === '1');
const intIn = (min: number, max: number) =>
  z
    .string()
    .max(12)
    .regex(/^\d+$/, 'a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const paging = (maxLimit: number) => ({
  limit: intIn(1, maxLimit).default(50),
  offset: intIn(0, MAX_OFFSET).default(0),
});

export const VulnerabilityQuery = z.strictObject({
  cluster,
  namespace,
  severity,
  fixable: bool.optional(),
  format: z.enum(['json', 'csv']).default('json'),
  limit: intIn(1, MAX_CSV_PAGE_SIZE).default(50),
  offset: intIn(0, MAX_OFFSET).default(0),
});
export const DigestQuery = z.strictObject(paging(MAX_PAGE_SIZE));
export const FixFirstQuery = z.strictObject({ cluster, ...paging(MAX_PAGE_SIZE) });
const instant = z
  .string()
  .max(64)
  .pipe(z.iso.datetime({ offset: true }))
  .transform((s) => Date.parse(s));
/**
 * "What is new": findings first seen at or after `since` (a time), or first found with a DB newer
 * than `sinceDb` (a DB version: trivy-db's UpdatedAt, as /v1/new answers give it); exactly one.
 */
export const NewQuery = z
  .strictObject({
    since: instant.optional(),
    sinceDb: instant.optional(),
    cluster,
    severity,
    ...paging(MAX_PAGE_SIZE),
  })
  .refine((q) => (q.since === undefined) !== (q.sinceDb === undefined), {
    message: 'exactly one of since (a time) and sinceDb (a DB version)',
    path: ['since'],
  });
export const NoQuery = z.strictObject({});

export type ParamProblem = { parameter: string; message: string };

/**
 * A query string as an object, refusing a parameter given twice (which value would count is
 * nobody's guess), then parsed by `schema`.
 */
export function parseQuery<T extends z.ZodType>(
  schema: T,
  search: URLSearchParams,
): { ok: true; value: z.output<T> } | { ok: false; problems: ParamProblem[] } {
  const obj: Record<string, string> = {};
  for (const [k, v] of search) {
    if (Object.hasOwn(obj, k))
      return { ok: false, problems: [{ parameter: k.slice(0, 64), message: 'given more than once' }] };
    obj[k] = v;
  }
  const r = schema.safeParse(obj);
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    problems: r.error.issues.slice(0, 5).map((i) => ({
      parameter:
        i.code === 'unrecognized_keys'
          ? i.keys.join(', ').slice(0, 200)
          : String(i.path[0] ?? '').slice(0, 64),
      message: i.code === 'unrecognized_keys' ? 'unknown parameter' : i.message.slice(0, 200),
    })),
  };
}

/** Limits with the `MAX_PAGE_SIZE` of a JSON page: a CSV export may take more rows per page. */
export function checkJsonLimit(format: 'json' | 'csv', limit: number): ParamProblem | undefined {
  return format === 'json' && limit > MAX_PAGE_SIZE
    ? { parameter: 'limit', message: `at most ${MAX_PAGE_SIZE} (${MAX_CSV_PAGE_SIZE} with format=csv)` }
    : undefined;
}
