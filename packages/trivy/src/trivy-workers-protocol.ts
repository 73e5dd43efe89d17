/**
 * The trivy worker's JSON lines (packages/trivy/go/auditor/cli.go), as pure functions: one ready
 * line once it started, then one response line per request line, in order (one run at a time).
 */
import { z } from 'zod';

const LineSchema = z.union([
  z.object({ ready: z.object({ trivy: z.string().min(1) }) }),
  z.object({ id: z.number().int().nonnegative(), error: z.string().optional() }),
]);

export type WorkerLine =
  | { kind: 'ready'; trivy: string }
  | { kind: 'response'; id: number; error: string | undefined };

export interface WorkerRequest {
  id: number;
  /** trivy's command line, the command first; it names an --output file (stdout is the protocol). */
  args: readonly string[];
  /** The run's whole environment. */
  env: Readonly<Record<string, string>>;
}

export function encodeWorkerRequest(req: WorkerRequest): string {
  return `${JSON.stringify({ id: req.id, args: req.args, env: req.env })}\n`;
}

/** A line the worker printed; throws an Error naming the line's start when it is not one. */
export function decodeWorkerLine(line: string): WorkerLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`printed a line that is not JSON: ${line.slice(0, 200)}`);
  }
  const parsed = LineSchema.safeParse(value);
  if (!parsed.success) throw new Error(`printed a line that is not its protocol: ${line.slice(0, 200)}`);
  const v = parsed.data;
  return 'ready' in v
    ? { kind: 'ready', trivy: v.ready.trivy }
    : { kind: 'response', id: v.id, error: v.error };
}
