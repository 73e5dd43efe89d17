import { TrivyError, TrivyErrorCode } from '@fleetscan/trivy';
import { describe, expect, it } from 'vitest';
import { type AuditItem, auditOutputs } from './config-outputs.ts';

const scanner = { name: 'Trivy', vendor: 'Aqua Security', version: '0.74.0' };
const at = '2026-12-01T00:00:00.000Z';
const manifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n' } };
const findings = [
  {
    id: 'KSV-0003',
    aliases: ['AVD-KSV-0003', 'KSV003'],
    severity: 'LOW',
    status: 'FAIL' as const,
    message: 'm3',
  },
  {
    id: 'KSV-0014',
    aliases: ['AVD-KSV-0014', 'KSV014'],
    severity: 'HIGH',
    status: 'FAIL' as const,
    message: 'm14',
  },
];

describe('auditOutputs', () => {
  it("reports each request of a batch with its own cluster's settings", () => {
    const items: AuditItem[] = [
      { manifest, settings: {} },
      { manifest, settings: { checkIds: 'trivy-operator' } },
      { manifest, settings: { severities: ['HIGH'] } },
    ];
    const out = auditOutputs(items, [{ findings }, { findings }, { findings }], scanner, at);
    const ids = out.map((o) => ('data' in o ? o.data.checks.map((c) => c.checkID) : o.error.code));
    expect(ids).toEqual([['KSV003', 'KSV014'], ['AVD-KSV-0003', 'AVD-KSV-0014'], ['KSV014']]);
    expect(out[0]).toEqual({ data: { scanner, scannedAt: at, checks: expect.any(Array) } });
  });

  it('turns a manifest the worker could not read into a permanent error for that request only', () => {
    const items: AuditItem[] = [
      { manifest, settings: {} },
      { manifest, settings: {} },
    ];
    const bad = new TrivyError(TrivyErrorCode.InvalidManifest, 'config audit: not a Kubernetes manifest');
    const out = auditOutputs(items, [{ error: bad }, { findings: [] }], scanner, at);
    expect(out).toEqual([
      {
        error: {
          code: 'INVALID_MANIFEST',
          message: 'config audit: not a Kubernetes manifest',
          permanent: true,
        },
      },
      { data: { scanner, scannedAt: at, checks: [] } },
    ]);
  });

  it('retries a request the worker gave no outcome for', () => {
    const out = auditOutputs([{ manifest, settings: {} }], [], scanner, at);
    expect(out).toEqual([{ error: expect.objectContaining({ code: 'FAILED', permanent: false }) }]);
  });
});
