import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DatabaseSync } from 'node:sqlite';
import type { z } from 'zod';
import { toCsv } from './csv.ts';
import { PAGE_HTML } from './page.ts';
import {
  checkJsonLimit,
  DigestParam,
  DigestQuery,
  FixFirstQuery,
  MAX_URL_LENGTH,
  NewQuery,
  NoQuery,
  type ParamProblem,
  parseQuery,
  VulnerabilityId,
  VulnerabilityQuery,
} from './params.ts';
import { clusterPosture, fixFirst, newSince, whereDigest, whereVulnerability } from './queries.ts';

export interface ApiDeps {
  db: DatabaseSync;
  /** When set, every /v1 request needs `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Whether the model has read the stream up to its end once: answers before that say so. */
  caughtUp: () => boolean;
  onRequest?(route: string, status: number, seconds: number): void;
}

/** The CSV export's columns, in order (one row per workload container and finding). */
export const VULNERABILITY_COLUMNS = [
  'cluster',
  'namespace',
  'kind',
  'name',
  'container',
  'image',
  'digest',
  'severity',
  'pkg',
  'installed',
  'fixed',
  'title',
  'firstSeen',
  'scannedAt',
] as const;

class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  readonly code: string;
  readonly problems: ParamProblem[] | undefined;
  constructor(status: number, code: string, message: string, problems?: ParamProblem[]) {
    super(message);
    this.status = status;
    this.code = code;
    this.problems = problems;
  }
}

function query<T extends z.ZodType>(schema: T, url: URL): z.output<T> {
  const r = parseQuery(schema, url.searchParams);
  if (!r.ok) throw new HttpError(400, 'BAD_PARAMETER', 'invalid query parameters', r.problems);
  return r.value;
}

function pathParam<T extends z.ZodType<string>>(schema: T, raw: string, what: string): string {
  let s: string;
  try {
    s = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'BAD_PATH', `the ${what} is not valid percent-encoding`);
  }
  const r = schema.safeParse(s);
  if (!r.success)
    throw new HttpError(400, 'BAD_PATH', `the ${what}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The read-only HTTP API under /v1 and the page at /. Answers are JSON (CSV for "where does X run"
 * with format=csv); bad input is a 4xx naming what was wrong, never a 500.
 */
export function createApi(d: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  function route(url: URL): { name: string; run: () => { body: unknown; csv?: string } } {
    const p = url.pathname;
    if (p === '/' || p === '/index.html') return { name: 'page', run: () => ({ body: PAGE_HTML }) };
    if (!p.startsWith('/v1/')) throw new HttpError(404, 'NOT_FOUND', 'no such resource');
    let m = /^\/v1\/vulnerabilities\/([^/]+)\/workloads$/.exec(p);
    if (m) {
      const id = pathParam(VulnerabilityId, m[1] ?? '', 'vulnerability id');
      return {
        name: 'vulnerability',
        run: () => {
          const q = query(VulnerabilityQuery, url);
          const tooMany = checkJsonLimit(q.format, q.limit);
          if (tooMany) throw new HttpError(400, 'BAD_PARAMETER', 'invalid query parameters', [tooMany]);
          const page = whereVulnerability(d.db, {
            id: id.toUpperCase().startsWith('CVE-') ? id.toUpperCase() : id,
            cluster: q.cluster,
            namespace: q.namespace,
            severities: q.severity,
            fixable: q.fixable,
            limit: q.limit,
            offset: q.offset,
          });
          const items = page.items.map((r) => ({ ...r, firstSeen: new Date(r.firstSeen).toISOString() }));
          if (q.format === 'csv') return { body: null, csv: toCsv(VULNERABILITY_COLUMNS, items) };
          return { body: { vulnerability: id, ...page, items } };
        },
      };
    }
    m = /^\/v1\/images\/([^/]+)\/workloads$/.exec(p);
    if (m) {
      const digest = pathParam(DigestParam, m[1] ?? '', 'digest');
      return {
        name: 'digest',
        run: () => {
          const q = query(DigestQuery, url);
          return { body: { digest, ...whereDigest(d.db, digest, q) } };
        },
      };
    }
    if (p === '/v1/fix-first')
      return { name: 'fix-first', run: () => ({ body: fixFirst(d.db, query(FixFirstQuery, url)) }) };
    if (p === '/v1/new') {
      return {
        name: 'new',
        run: () => {
          const page = newSince(d.db, query(NewQuery, url));
          return {
            body: {
              ...page,
              items: page.items.map((r) => ({
                ...r,
                firstSeen: new Date(r.firstSeen).toISOString(),
                firstDb: r.firstDb === null ? null : new Date(r.firstDb).toISOString(),
              })),
            },
          };
        },
      };
    }
    if (p === '/v1/clusters') {
      return {
        name: 'clusters',
        run: () => {
          query(NoQuery, url);
          return { body: { items: clusterPosture(d.db), caughtUp: d.caughtUp() } };
        },
      };
    }
    throw new HttpError(404, 'NOT_FOUND', 'no such resource');
  }

  return (req, res) => {
    const started = process.hrtime.bigint();
    let name = 'unknown';
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, {
        'content-type': type,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        ...(type.startsWith('text/html') && {
          'content-security-policy':
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
        }),
      });
      res.end(body);
      d.onRequest?.(name, status, Number(process.hrtime.bigint() - started) / 1e9);
    };
    const fail = (e: HttpError) =>
      send(
        e.status,
        'application/json',
        JSON.stringify({
          error: { code: e.code, message: e.message, ...(e.problems && { problems: e.problems }) },
        }),
      );
    try {
      if ((req.url ?? '').length > MAX_URL_LENGTH) {
        throw new HttpError(414, 'URI_TOO_LONG', `the URL is longer than ${MAX_URL_LENGTH} characters`);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'the fleet view is read-only');
      }
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://fleetview.invalid');
      } catch {
        throw new HttpError(400, 'BAD_URL', 'the URL cannot be parsed');
      }
      const r = route(url);
      name = r.name;
      if (d.token && name !== 'page') {
        const auth = req.headers.authorization ?? '';
        const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
        if (!given || !sameToken(given, d.token)) {
          res.setHeader('www-authenticate', 'Bearer');
          throw new HttpError(401, 'UNAUTHORIZED', 'a bearer token is required');
        }
      }
      const out = r.run();
      if (name === 'page') return send(200, 'text/html; charset=utf-8', String(out.body));
      if (out.csv !== undefined) {
        res.setHeader('content-disposition', 'attachment; filename="workloads.csv"');
        return send(200, 'text/csv; charset=utf-8', out.csv);
      }
      return send(200, 'application/json', JSON.stringify(out.body));
    } catch (err) {
      if (err instanceof HttpError) return fail(err);
      // A fault of ours, not of the input: said plainly, without internals.
      return fail(new HttpError(500, 'INTERNAL', 'the fleet view failed to answer'));
    }
  };
}
