/** What went wrong talking to Kubernetes, in the terms callers branch on (not HTTP numbers). */
export const KubeErrorCode = {
  NotFound: 'NOT_FOUND',
  /** 409 on create: the object exists (reason AlreadyExists). */
  AlreadyExists: 'ALREADY_EXISTS',
  /** 409 on update/patch: resourceVersion conflict; re-read and retry. */
  Conflict: 'CONFLICT',
  /** 410: the resourceVersion (or continue token) is too old; re-list. */
  Gone: 'GONE',
  Unauthorized: 'UNAUTHORIZED',
  Forbidden: 'FORBIDDEN',
  /** 400/413/422 and other 4xx: the request itself is wrong and will not succeed as it is. */
  Invalid: 'INVALID',
  /** 408/429/5xx, network and timeout failures: retry later (see retryAfterMs). */
  Transient: 'TRANSIENT',
  /** The caller aborted (stop, shutdown). */
  Aborted: 'ABORTED',
  /** No usable kubeconfig. */
  Config: 'CONFIG',
  /** Not recognisably an API or network failure (a bug, most likely). */
  Unknown: 'UNKNOWN',
} as const;
export type KubeErrorCode = (typeof KubeErrorCode)[keyof typeof KubeErrorCode];

export interface KubeErrorDetails {
  /** HTTP status, when the API server answered. */
  status?: number;
  /** metav1.Status reason (e.g. AlreadyExists, Expired), when the body carried one. */
  reason?: string;
  /** From Retry-After or Status details.retryAfterSeconds (429, 503, "too large resource version"). */
  retryAfterMs?: number;
  cause?: unknown;
}

export class KubeError extends Error {
  override readonly name = 'KubeError';
  readonly code: KubeErrorCode;
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: KubeErrorCode, message: string, details: KubeErrorDetails = {}) {
    super(message, { cause: details.cause });
    this.code = code;
    this.status = details.status;
    this.reason = details.reason;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export function isKubeError(e: unknown, code?: KubeErrorCode): e is KubeError {
  return e instanceof KubeError && (code === undefined || e.code === code);
}

/** The parts of a metav1.Status we use. */
interface StatusBody {
  reason?: string;
  message?: string;
  code?: number;
  retryAfterSeconds?: number;
}

/**
 * Maps anything thrown while talking to Kubernetes to a KubeError: client-node's ApiException
 * (numeric `code`, JSON text `body`, `headers`; matched by shape, never imported — tests and tools
 * still use client-node), its Watch errors (`statusCode`), a metav1.Status
 * from a watch ERROR event, Node/undici network errors (string `code`, possibly under `cause`)
 * and aborts. The original is kept as `cause`.
 */
export function classifyKubeError(err: unknown): KubeError {
  if (err instanceof KubeError) return err;
  const status = httpStatusOf(err);
  if (status !== undefined) {
    const body = statusBodyOf(err);
    const retryAfterMs = retryAfterOf(err, body);
    return new KubeError(codeForStatus(status, body.reason, body.message), describe(status, body, err), {
      status,
      ...(body.reason !== undefined && { reason: body.reason }),
      ...(retryAfterMs !== undefined && { retryAfterMs }),
      cause: err,
    });
  }
  // A timeout signal aborts a request with AbortError whose cause is the TimeoutError.
  if (hasName(err, 'TimeoutError'))
    return new KubeError(KubeErrorCode.Transient, 'timed out', { cause: err });
  if (errName(err) === 'AbortError') return new KubeError(KubeErrorCode.Aborted, 'aborted', { cause: err });
  const netCode = networkCodeOf(err);
  if (netCode !== undefined) {
    return new KubeError(KubeErrorCode.Transient, `network: ${netCode}: ${messageOf(err)}`, { cause: err });
  }
  return new KubeError(KubeErrorCode.Unknown, messageOf(err), { cause: err });
}

/** A non-2xx answer from the API server, as the transport sees it. */
export interface ResponseInfo {
  method: string;
  path: string;
  status: number;
  /** The response text, usually a metav1.Status. */
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Classifies a non-2xx response read by our own transport (no client-node exception involved). */
export function responseError(r: ResponseInfo): KubeError {
  const body = statusBodyOf({ body: r.body });
  const retryAfterMs = retryAfterOf({ headers: r.headers }, body);
  const text = r.body.trim();
  const fallback = `${r.method} ${r.path}${text && !body.message ? `: ${firstLine(text).slice(0, 200)}` : ''}`;
  return new KubeError(
    codeForStatus(r.status, body.reason, body.message),
    `HTTP ${r.status}${body.reason ? ` ${body.reason}` : ''}: ${body.message ?? fallback}`,
    {
      status: r.status,
      ...(body.reason !== undefined && { reason: body.reason }),
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    },
  );
}

/**
 * A server-side apply whose body does not fit the resource's schema (a string where the CRD says
 * integer) is answered 500, not 422 (kubernetes/kubernetes#139253): the same body fails every time.
 */
const SSA_TYPED_PATCH = /^failed to create typed patch object\b/;

function codeForStatus(status: number, reason: string | undefined, message?: string): KubeErrorCode {
  if (status === 500 && message !== undefined && SSA_TYPED_PATCH.test(message)) return KubeErrorCode.Invalid;
  switch (status) {
    case 401:
      return KubeErrorCode.Unauthorized;
    case 403:
      return KubeErrorCode.Forbidden;
    case 404:
      return KubeErrorCode.NotFound;
    case 409:
      return reason === 'AlreadyExists' ? KubeErrorCode.AlreadyExists : KubeErrorCode.Conflict;
    case 410:
      return KubeErrorCode.Gone;
    case 408:
    case 429:
      return KubeErrorCode.Transient;
  }
  if (status >= 500) return KubeErrorCode.Transient;
  if (status >= 400) return KubeErrorCode.Invalid;
  // 1xx/2xx/3xx surfacing as an error: a proxy or protocol oddity; worth retrying.
  return KubeErrorCode.Transient;
}

function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  for (const v of [e.code, e.statusCode]) {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599) return v;
  }
  return undefined;
}

/** The Status from an ApiException body (JSON text or object), or the error itself if it is a Status. */
function statusBodyOf(err: unknown): StatusBody {
  const e = err as { body?: unknown; kind?: unknown };
  if (e.kind === 'Status') return pickStatus(err);
  let body = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return {};
    }
  }
  return typeof body === 'object' && body !== null ? pickStatus(body) : {};
}

function pickStatus(v: unknown): StatusBody {
  const s = v as { reason?: unknown; message?: unknown; details?: { retryAfterSeconds?: unknown } };
  const out: StatusBody = {};
  if (typeof s.reason === 'string' && s.reason) out.reason = s.reason;
  if (typeof s.message === 'string' && s.message) out.message = s.message;
  const ra = s.details?.retryAfterSeconds;
  if (typeof ra === 'number' && ra > 0) out.retryAfterSeconds = ra;
  return out;
}

function retryAfterOf(err: unknown, body: StatusBody): number | undefined {
  if (body.retryAfterSeconds !== undefined) return body.retryAfterSeconds * 1000;
  const headers = (err as { headers?: unknown }).headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const raw = Object.entries(headers).find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
  const seconds = Number(raw);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

function describe(status: number, body: StatusBody, err: unknown): string {
  const reason = body.reason ? ` ${body.reason}` : '';
  const message = body.message ?? firstLine(messageOf(err));
  return `HTTP ${status}${reason}: ${message}`;
}

/** Network failures worth retrying; TLS verification errors count, as a rotated CA fixes them. */
const NETWORK_CODE =
  /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|ESOCKETTIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|EHOSTDOWN|ENETUNREACH|ENETDOWN|EPROTO|UND_ERR_.*|ERR_STREAM_PREMATURE_CLOSE|ERR_TLS_.*|ERR_SSL_.*|CERT_.*|UNABLE_TO_.*|.*SELF_SIGNED.*)$/;

function networkCodeOf(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && typeof cur === 'object' && cur !== null; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODE.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function hasName(err: unknown, name: string): boolean {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && typeof cur === 'object' && cur !== null; depth++) {
    if (errName(cur) === name) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

function errName(err: unknown): string | undefined {
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? s;
}
