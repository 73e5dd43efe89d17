import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type AnyReportLike, savedReport } from './scenario.ts';
import { formatReports } from './show.ts';

const check = (checkID: string, severity: string, messages: string[], success = false) => ({
  checkID,
  severity,
  title: `title of ${checkID}`,
  category: 'Kubernetes Security Check',
  success,
  messages,
});

/** The naive Deployment's audit as trivy writes it: many failing checks, its own two LOW ones among them. */
const audit: AnyReportLike = {
  kind: 'ConfigAuditReport',
  metadata: {
    name: 'replicaset-naive-1',
    namespace: 'default',
    ownerReferences: [{ kind: 'ReplicaSet', name: 'naive-1' }],
  },
  report: {
    summary: { criticalCount: 0, highCount: 2, mediumCount: 3, lowCount: 9 },
    checks: [
      check('KSV110', 'LOW', [
        'ReplicaSet naive-1 in default namespace should set metadata.namespace to a non-default namespace',
      ]),
      check('KSV003', 'LOW', [
        "Container 'nginx' of ReplicaSet 'naive-1' should add 'ALL' to 'securityContext.capabilities.drop'",
      ]),
      check('KSV118', 'HIGH', [
        'container nginx of replicaset naive-1 in default namespace is using the default security context',
      ]),
      check('KSV118', 'HIGH', [
        'replicaset naive-1 in default namespace is using the default security context, which allows root privileges',
      ]),
      ...Array.from({ length: 10 }, (_, i) => check(`KSV9${i}`, i < 3 ? 'MEDIUM' : 'LOW', [`finding ${i}`])),
      check('KSV011', 'LOW', ['passes'], true),
    ],
  },
};

describe('formatReports', () => {
  it("lists every failing check of an audit, the seed's LOW ones too, none cut under “more”", () => {
    const out = formatReports([audit]);
    expect(out).toMatch(/LOW\s+KSV110/);
    expect(out).toMatch(/LOW\s+KSV003/);
    expect(out).not.toContain('more failing checks');
    for (let i = 0; i < 10; i++) expect(out).toContain(`KSV9${i}`);
    expect(out).not.toContain('KSV011');
  });

  it('tells two failures of one check apart by their messages', () => {
    const lines = formatReports([audit])
      .split('\n')
      .filter((l) => l.includes('KSV118'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).not.toBe(lines[1]);
    expect(lines.join('\n')).toContain('container nginx');
  });
});

describe('savedReport', () => {
  it('leaves out managedFields and keeps everything else', () => {
    const withManaged = {
      ...audit,
      metadata: { ...audit.metadata, managedFields: [{ manager: 'fleetscan-writer', operation: 'Apply' }] },
    };
    const saved = savedReport(withManaged);
    expect(saved.metadata).not.toHaveProperty('managedFields');
    expect(saved).toEqual(audit);
    expect(withManaged.metadata).toHaveProperty('managedFields');
    expect(parse(JSON.stringify(saved))).not.toHaveProperty('metadata.managedFields');
  });
});
