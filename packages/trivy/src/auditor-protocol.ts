/**
 * The audit worker's JSON lines (packages/trivy/go/auditor/protocol.go), as pure functions: it
 * prints one ready line once its checks are compiled, then answers each request line with one
 * response line carrying its id: in order within a lane (bulk or not), in either order across them.
 */
import { z } from 'zod';
import type { ConfigFinding } from './config-checks.ts';
import { TrivyError, TrivyErrorCode } from './errors.ts';

const FindingSchema = z.object({
  id: z.string().min(1),
  aliases: z.array(z.string()).optional(),
  title: z.string().optional(),
  description: z.string().optional(),
  message: z.string().optional(),
  resolution: z.string().optional(),
  severity: z.string(),
  status: z.enum(['FAIL', 'PASS']),
  namespace: z.string().optional(),
});

const ReadySchema = z.object({
  ready: z.object({ trivy: z.string().min(1), checks: z.number().int(), queries: z.number().int() }),
});
export type AuditorReady = z.infer<typeof ReadySchema>['ready'];

const ResponseSchema = z.object({
  id: z.number().int().nonnegative(),
  /** One per manifest, in the request's order; absent when the request was unreadable. */
  results: z.array(z.object({ findings: z.array(FindingSchema), error: z.string().optional() })).optional(),
  error: z.string().optional(),
});
export type AuditorResponse = z.infer<typeof ResponseSchema>;

export type AuditorLine =
  | { kind: 'ready'; ready: AuditorReady }
  | { kind: 'response'; response: AuditorResponse };

/**
 * One request line: every manifest is audited on its own. A bulk request goes to the worker's
 * bulk lane (niced threads), beside the other lane's.
 */
export function encodeAuditRequest(
  id: number,
  manifests: readonly unknown[],
  includePassed = false,
  bulk = false,
): string {
  return `${JSON.stringify({ id, manifests, ...(includePassed && { includePassed: true }), ...(bulk && { bulk: true }) })}\n`;
}

/** A line the worker printed; anything else is a PARSE TrivyError (the worker is not what we run). */
export function decodeAuditorLine(line: string): AuditorLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new TrivyError(
      TrivyErrorCode.Parse,
      `audit worker printed a line that is not JSON: ${line.slice(0, 200)}`,
      {
        cause: err,
      },
    );
  }
  const ready = ReadySchema.safeParse(value);
  if (ready.success) return { kind: 'ready', ready: ready.data.ready };
  const response = ResponseSchema.safeParse(value);
  if (response.success) return { kind: 'response', response: response.data };
  throw new TrivyError(
    TrivyErrorCode.Parse,
    `audit worker printed an unexpected line: ${response.error.issues[0]?.message ?? 'unknown shape'}`,
  );
}

/** What one manifest's audit gave: its findings, or why it could not be audited (a permanent error). */
export type AuditOutcome = { findings: ConfigFinding[] } | { error: TrivyError };

/**
 * A response's outcomes, one per manifest sent. A response for another request, an unreadable
 * request or a wrong count means the two sides disagree: a FAILED error for the whole batch.
 */
export function outcomesOf(response: AuditorResponse, id: number, count: number): AuditOutcome[] {
  if (response.id !== id) {
    throw new TrivyError(
      TrivyErrorCode.Failed,
      `audit worker answered request ${response.id}, expected ${id}`,
    );
  }
  if (response.error !== undefined || response.results === undefined) {
    throw new TrivyError(
      TrivyErrorCode.Failed,
      `audit worker could not read request ${id}: ${response.error ?? ''}`,
    );
  }
  if (response.results.length !== count) {
    throw new TrivyError(
      TrivyErrorCode.Failed,
      `audit worker gave ${response.results.length} results for ${count} manifests`,
    );
  }
  return response.results.map((r) =>
    r.error !== undefined
      ? { error: new TrivyError(TrivyErrorCode.InvalidManifest, `config audit: ${r.error}`) }
      : { findings: r.findings },
  );
}
