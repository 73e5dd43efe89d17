import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  classifyFailure,
  fatalMessage,
  isPermanent,
  isTrivyError,
  TrivyError,
  TrivyErrorCode,
} from './errors.ts';
import { cleanStderr } from './stderr.ts';

/** Real stderr captured from trivy v0.74 by scripts/capture-fixtures.ts. */
function captured(name: string): string {
  return cleanStderr(readFileSync(new URL(`../testdata/stderr/${name}`, import.meta.url), 'utf8'));
}

function classify(stderr: string) {
  return classifyFailure({ command: 'image', exitCode: 1, stderr });
}

describe('classifyFailure on captured trivy stderr', () => {
  it.each([
    ['image-not-found.txt', TrivyErrorCode.ImageNotFound, true],
    ['repository-not-found.txt', TrivyErrorCode.ImageNotFound, true],
    ['digest-not-found.txt', TrivyErrorCode.ImageNotFound, true],
    // With credentials trivy also retries anonymously: MANIFEST_UNKNOWN and UNAUTHORIZED both appear.
    ['not-found-with-credentials.txt', TrivyErrorCode.ImageNotFound, true],
    ['unauthorized.txt', TrivyErrorCode.Unauthorized, true],
    ['unauthorized-wrong-password.txt', TrivyErrorCode.Unauthorized, true],
    ['invalid-reference.txt', TrivyErrorCode.InvalidReference, true],
    ['invalid-reference-tag.txt', TrivyErrorCode.InvalidReference, true],
    ['connection-refused.txt', TrivyErrorCode.Transient, false],
    ['unknown-flag.txt', TrivyErrorCode.Failed, false],
  ])('%s -> %s', (file, code, permanent) => {
    const err = classify(captured(file));
    expect(err).toBeInstanceOf(TrivyError);
    expect(err.code).toBe(code);
    expect(isPermanent(err)).toBe(permanent);
    expect(err.permanent).toBe(permanent);
    expect(err.exitCode).toBe(1);
    expect(err.stderr).toContain('FATAL');
  });

  it('puts the fatal error and its causes, not the INFO lines, in the message', () => {
    const err = classify(captured('image-not-found.txt'));
    expect(err.message).toMatch(
      /^trivy image: run error: image scan error: .*unable to find the specified image/,
    );
    expect(err.message).toContain('MANIFEST_UNKNOWN: manifest unknown');
    expect(err.message).not.toContain('Vulnerability scanning is enabled');
  });
});

describe('classifyFailure on other texts (hand-written, in the formats go-containerregistry prints)', () => {
  const fatal = (cause: string) =>
    `2026-01-01T00:00:00Z\tFATAL\tFatal error\trun error: image scan error: unable to find the specified image "r/x:1" in ["remote"]: 1 error occurred:\n\t* remote error: ${cause}\n`;
  it.each([
    ['GET https://r/v2/x/manifests/1: TOOMANYREQUESTS: slow down', TrivyErrorCode.Transient],
    ['GET https://r/v2/: unexpected status code 503 Service Unavailable', TrivyErrorCode.Transient],
    ['Get "https://r/v2/": dial tcp: lookup r: no such host', TrivyErrorCode.Transient],
    [
      'HEAD https://r/v2/x/manifests/1: unexpected status code 404 Not Found (HEAD responses have no body)',
      TrivyErrorCode.ImageNotFound,
    ],
    [
      'GET https://r/v2/x/manifests/1: DENIED: requested access to the resource is denied',
      TrivyErrorCode.Unauthorized,
    ],
    ['no child with platform linux/amd64 in index r/x:1', TrivyErrorCode.Unsupported],
    ['context deadline exceeded', TrivyErrorCode.Timeout],
    ['something nobody has seen before', TrivyErrorCode.Failed],
  ])('%s -> %s', (cause, code) => {
    expect(classify(fatal(cause)).code).toBe(code);
  });

  it('falls back to the exit code and last line without a FATAL line', () => {
    const err = classify('panic: runtime error: index out of range\n');
    expect(err.code).toBe(TrivyErrorCode.Failed);
    expect(err.message).toBe('trivy image: exited 1: panic: runtime error: index out of range');
  });
});

describe('what we did to the process wins over what it printed', () => {
  const stderr = captured('image-not-found.txt');
  it('timeout', () => {
    const err = classifyFailure({
      command: 'image',
      signal: 'SIGTERM',
      timedOut: true,
      timeoutMs: 500,
      stderr,
    });
    expect(err.code).toBe(TrivyErrorCode.Timeout);
    expect(err.message).toBe('trivy image: timed out after 500 ms, killed');
    expect(err.signal).toBe('SIGTERM');
    expect(isPermanent(err)).toBe(false);
  });
  it('abort', () => {
    const err = classifyFailure({ command: 'config', signal: 'SIGTERM', aborted: true, stderr });
    expect(err.code).toBe(TrivyErrorCode.Aborted);
    expect(isPermanent(err)).toBe(false);
  });
  it('output too large', () => {
    const err = classifyFailure({ command: 'image', signal: 'SIGTERM', outputTooLarge: true, stderr: '' });
    expect(err.code).toBe(TrivyErrorCode.OutputTooLarge);
    expect(isPermanent(err)).toBe(true);
  });
  it('a signal from elsewhere', () => {
    const err = classifyFailure({ command: 'image', signal: 'SIGKILL', stderr: 'INFO starting\n' });
    expect(err.message).toBe('trivy image: killed by SIGKILL');
    expect(err.code).toBe(TrivyErrorCode.Failed);
  });
});

describe('predicates', () => {
  it('isTrivyError checks the class and optionally the code', () => {
    const err = new TrivyError(TrivyErrorCode.Parse, 'x');
    expect(isTrivyError(err)).toBe(true);
    expect(isTrivyError(err, TrivyErrorCode.Parse)).toBe(true);
    expect(isTrivyError(err, TrivyErrorCode.Failed)).toBe(false);
    expect(isTrivyError(new Error('x'))).toBe(false);
  });
  it('isPermanent is false for anything that is not a TrivyError', () => {
    expect(isPermanent(new Error('MANIFEST_UNKNOWN'))).toBe(false);
    expect(isPermanent(undefined)).toBe(false);
  });
});

describe('fatalMessage', () => {
  it('is undefined without a FATAL line', () => {
    expect(fatalMessage('2026-01-01T00:00:00Z\tINFO\thello\n')).toBeUndefined();
  });
  it('joins the FATAL line with the indented causes', () => {
    expect(fatalMessage(captured('unauthorized.txt'))).toMatch(
      /^run error: .* 1 error occurred: \* remote error: GET http:\/\/127\.0\.0\.1:\d+\/v2\/library\/nginx\/manifests\/1\.20: UNAUTHORIZED: authentication required;/,
    );
  });
});
