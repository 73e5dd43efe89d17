import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { classifyKubeError, isKubeError, KubeError, KubeErrorCode, responseError } from './errors.ts';

const status = (code: number, reason: string, message = 'msg', details?: object) =>
  JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    code,
    reason,
    message,
    ...(details && { details }),
  });

const api = (code: number, body?: string, headers: Record<string, string> = {}) =>
  new ApiException(code, 'Unknown API Status Code!', body, headers);

describe('classifyKubeError: API responses (client-node ApiException)', () => {
  it.each([
    [404, 'NotFound', KubeErrorCode.NotFound],
    [409, 'AlreadyExists', KubeErrorCode.AlreadyExists],
    [409, 'Conflict', KubeErrorCode.Conflict],
    [410, 'Expired', KubeErrorCode.Gone],
    [401, 'Unauthorized', KubeErrorCode.Unauthorized],
    [403, 'Forbidden', KubeErrorCode.Forbidden],
    [400, 'BadRequest', KubeErrorCode.Invalid],
    [422, 'Invalid', KubeErrorCode.Invalid],
    [413, 'RequestEntityTooLarge', KubeErrorCode.Invalid],
    [408, 'Timeout', KubeErrorCode.Transient],
    [429, 'TooManyRequests', KubeErrorCode.Transient],
    [500, 'InternalError', KubeErrorCode.Transient],
    [503, 'ServiceUnavailable', KubeErrorCode.Transient],
    [504, 'Timeout', KubeErrorCode.Transient],
  ])('%i %s → %s', (code, reason, expected) => {
    const cause = api(code, status(code, reason, `${reason} happened`));
    const e = classifyKubeError(cause);
    expect(e).toBeInstanceOf(KubeError);
    expect(e.code).toBe(expected);
    expect(e.status).toBe(code);
    expect(e.reason).toBe(reason);
    expect(e.cause).toBe(cause);
    expect(e.message).toBe(`HTTP ${code} ${reason}: ${reason} happened`);
  });

  it('keeps the message when the body is not a Status (401 from the generated clients has no body)', () => {
    const e = classifyKubeError(api(401, undefined));
    expect(e.code).toBe(KubeErrorCode.Unauthorized);
    expect(e.reason).toBeUndefined();
    expect(e.message).toMatch(/^HTTP 401: HTTP-Code: 401/);
  });

  it('reads retry-after from the Status details or the header', () => {
    expect(
      classifyKubeError(api(429, status(429, 'TooManyRequests', 'slow down', { retryAfterSeconds: 3 })))
        .retryAfterMs,
    ).toBe(3000);
    expect(classifyKubeError(api(503, 'busy', { 'Retry-After': '2' })).retryAfterMs).toBe(2000);
    expect(classifyKubeError(api(503, 'busy')).retryAfterMs).toBeUndefined();
  });

  it('classifies a Status object from a watch ERROR event', () => {
    const e = classifyKubeError({
      kind: 'Status',
      code: 410,
      reason: 'Expired',
      message: 'too old resource version: 1 (5)',
    });
    expect(e.code).toBe(KubeErrorCode.Gone);
    expect(e.message).toBe('HTTP 410 Expired: too old resource version: 1 (5)');
  });

  it('classifies client-node Watch errors (statusCode)', () => {
    const err = Object.assign(new Error('Gone'), { statusCode: 410 });
    expect(classifyKubeError(err).code).toBe(KubeErrorCode.Gone);
  });
});

describe('classifyKubeError: network and aborts', () => {
  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EAI_AGAIN',
    'UND_ERR_SOCKET',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
  ])('%s is transient', (code) => {
    const e = classifyKubeError(Object.assign(new Error(`connect ${code}`), { code }));
    expect(e.code).toBe(KubeErrorCode.Transient);
    expect(e.message).toContain(code);
  });

  it('finds the network code under fetch-style causes', () => {
    const err = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });
    expect(classifyKubeError(err).code).toBe(KubeErrorCode.Transient);
  });

  it('tells an abort from a timeout', () => {
    expect(classifyKubeError(new DOMException('aborted', 'AbortError')).code).toBe(KubeErrorCode.Aborted);
    const timedOut = Object.assign(new Error('The operation was aborted'), {
      name: 'AbortError',
      cause: new DOMException('timed out', 'TimeoutError'),
    });
    expect(classifyKubeError(timedOut).code).toBe(KubeErrorCode.Transient);
  });

  it('does not mistake file-system errors for network ones', () => {
    expect(classifyKubeError(Object.assign(new Error('nope'), { code: 'ENOENT' })).code).toBe(
      KubeErrorCode.Unknown,
    );
    expect(classifyKubeError(new Error('bug')).code).toBe(KubeErrorCode.Unknown);
  });

  it('returns a KubeError unchanged, and isKubeError checks the code', () => {
    const e = new KubeError(KubeErrorCode.Conflict, 'x');
    expect(classifyKubeError(e)).toBe(e);
    expect(isKubeError(e)).toBe(true);
    expect(isKubeError(e, KubeErrorCode.Conflict)).toBe(true);
    expect(isKubeError(e, KubeErrorCode.Gone)).toBe(false);
    expect(isKubeError(new Error('x'))).toBe(false);
  });
});

describe('responseError: non-2xx answers read by our own transport', () => {
  const headers = {};
  it('classifies by status and Status reason, as for an ApiException', () => {
    const e = responseError({
      method: 'PATCH',
      path: '/apis/g/v1/namespaces/ns/things/t',
      status: 409,
      body: status(409, 'Conflict', 'the object has been modified'),
      headers,
    });
    expect(e).toMatchObject({
      code: KubeErrorCode.Conflict,
      status: 409,
      reason: 'Conflict',
      message: 'HTTP 409 Conflict: the object has been modified',
    });
    expect(
      responseError({
        method: 'GET',
        path: '/x',
        status: 404,
        body: status(404, 'NotFound', 'gone'),
        headers,
      }).code,
    ).toBe(KubeErrorCode.NotFound);
  });

  it('calls a server-side apply that does not fit the schema invalid, though the API server answers 500', () => {
    const e = responseError({
      method: 'PATCH',
      path: '/apis/g/v1/namespaces/ns/things/t',
      status: 500,
      body: status(
        500,
        '',
        'failed to create typed patch object (ns/t; g/v1, Kind=Thing): .report.count: expected numeric (int or float), got string',
      ),
      headers,
    });
    expect(e.code).toBe(KubeErrorCode.Invalid);
    expect(
      responseError({
        method: 'PATCH',
        path: '/x',
        status: 500,
        body: status(500, '', 'etcdserver: timeout'),
        headers,
      }).code,
    ).toBe(KubeErrorCode.Transient);
  });

  it('names the request when the body is not a Status, and reads Retry-After', () => {
    const e = responseError({
      method: 'GET',
      path: '/api/v1/pods',
      status: 503,
      body: 'upstream connect error\nmore',
      headers: { 'retry-after': '7' },
    });
    expect(e).toMatchObject({
      code: KubeErrorCode.Transient,
      retryAfterMs: 7000,
      message: 'HTTP 503: GET /api/v1/pods: upstream connect error',
    });
    expect(responseError({ method: 'DELETE', path: '/y', status: 401, body: '', headers }).message).toBe(
      'HTTP 401: DELETE /y',
    );
  });
});
