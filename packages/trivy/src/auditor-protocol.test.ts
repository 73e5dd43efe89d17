import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeAuditorLine, encodeAuditRequest, outcomesOf } from './auditor-protocol.ts';
import { TrivyErrorCode } from './errors.ts';

/** A real response line of the worker (testdata/auditor-response.json, scripts/capture-fixtures.ts). */
const captured = readFileSync(new URL('../testdata/auditor-response.json', import.meta.url), 'utf8').trim();

describe('the audit worker protocol', () => {
  it('sends one JSON line per request, includePassed only when asked', () => {
    expect(encodeAuditRequest(3, [{ kind: 'Pod' }])).toBe('{"id":3,"manifests":[{"kind":"Pod"}]}\n');
    expect(encodeAuditRequest(4, [], true)).toBe('{"id":4,"manifests":[],"includePassed":true}\n');
  });

  it('reads the ready line and a captured response, one outcome per manifest', () => {
    expect(decodeAuditorLine('{"ready":{"trivy":"0.74.0","checks":563,"queries":164}}')).toEqual({
      kind: 'ready',
      ready: { trivy: '0.74.0', checks: 563, queries: 164 },
    });
    const line = decodeAuditorLine(captured);
    if (line.kind !== 'response') throw new Error('not a response');
    const outcomes = outcomesOf(line.response, 1, 3);
    expect(outcomes).toHaveLength(3);
    for (const o of outcomes) expect('findings' in o && o.findings.length > 0).toBe(true);
  });

  it('makes a manifest the worker could not read a permanent error of that manifest only', () => {
    const outcomes = outcomesOf(
      { id: 9, results: [{ findings: [], error: 'not a Kubernetes manifest' }, { findings: [] }] },
      9,
      2,
    );
    expect(outcomes).toEqual([
      { error: expect.objectContaining({ code: TrivyErrorCode.InvalidManifest, permanent: true }) },
      { findings: [] },
    ]);
  });

  it('fails the batch when the two sides disagree', () => {
    expect(() => outcomesOf({ id: 2, results: [] }, 1, 0)).toThrow(/answered request 2, expected 1/);
    expect(() => outcomesOf({ id: 1, error: 'unreadable request' }, 1, 1)).toThrow(/could not read/);
    expect(() => outcomesOf({ id: 1, results: [{ findings: [] }] }, 1, 2)).toThrow(/1 results for 2/);
    for (const bad of [
      'not json',
      '{"id":-1}',
      '{"ready":{}}',
      '{"id":1,"results":[{"findings":[{"id":"x"}]}]}',
    ]) {
      expect(() => decodeAuditorLine(bad), bad).toThrow(
        expect.objectContaining({ code: TrivyErrorCode.Parse }),
      );
    }
  });
});
