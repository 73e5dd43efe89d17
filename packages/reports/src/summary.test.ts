import { describe, expect, it } from 'vitest';
import {
  ConfigAuditSummarySchema,
  ExposedSecretSummarySchema,
  VulnerabilitySummarySchema,
} from './schemas.ts';
import { configAuditSummary, exposedSecretSummary, vulnerabilitySummary } from './summary.ts';

describe('summaries', () => {
  it('counts vulnerabilities by severity; anything else is unknown; noneCount stays 0', () => {
    const s = vulnerabilitySummary(
      ['CRITICAL', 'HIGH', 'HIGH', 'MEDIUM', 'LOW', 'LOW', 'LOW', 'UNKNOWN', 'NONE'].map((severity) => ({
        severity,
      })),
    );
    expect(s).toEqual({
      criticalCount: 1,
      highCount: 2,
      mediumCount: 1,
      lowCount: 3,
      unknownCount: 2,
      noneCount: 0,
    });
    expect(VulnerabilitySummarySchema.parse(s)).toEqual(s);
    expect(vulnerabilitySummary([])).toEqual({
      criticalCount: 0,
      highCount: 0,
      mediumCount: 0,
      lowCount: 0,
      unknownCount: 0,
      noneCount: 0,
    });
  });

  it('counts only failed config audit checks', () => {
    const s = configAuditSummary([
      { severity: 'CRITICAL', success: false },
      { severity: 'CRITICAL', success: true },
      { severity: 'HIGH', success: false },
      { severity: 'LOW', success: false },
      { severity: 'UNKNOWN', success: false },
    ]);
    expect(s).toEqual({ criticalCount: 1, highCount: 1, mediumCount: 0, lowCount: 1 });
    expect(ConfigAuditSummarySchema.parse(s)).toEqual(s);
  });

  it('counts exposed secrets by severity', () => {
    const s = exposedSecretSummary([
      { severity: 'CRITICAL' },
      { severity: 'MEDIUM' },
      { severity: 'MEDIUM' },
    ]);
    expect(s).toEqual({ criticalCount: 1, highCount: 0, mediumCount: 2, lowCount: 0 });
    expect(ExposedSecretSummarySchema.parse(s)).toEqual(s);
  });
});
