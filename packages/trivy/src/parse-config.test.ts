import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TrivyErrorCode } from './errors.ts';
import { parseConfigReport, toChecksByFile } from './parse-config.ts';

/** Real `trivy config` output over testdata/manifests (scripts/capture-fixtures.ts). */
function fixture(name: string): string {
  return readFileSync(new URL(`../testdata/${name}`, import.meta.url), 'utf8');
}

const FILES = ['naive-replicaset.yaml', 'shop/hardened-replicaset.yaml', 'wildcard-role.yaml'];

describe('a batched audit of three manifests (failures only)', () => {
  const byFile = toChecksByFile(parseConfigReport(fixture('config-audit.json')));

  it('has one entry per file, keyed by the path relative to the audited directory', () => {
    expect([...byFile.keys()].sort()).toEqual(FILES);
  });

  it('fails the naive ReplicaSet on KSV003 and KSV110 among others, with trivy-operator IDs', () => {
    const checks = byFile.get('naive-replicaset.yaml') ?? [];
    expect(checks.map((c) => c.checkID)).toEqual([
      'KSV001',
      'KSV003',
      'KSV004',
      'KSV012',
      'KSV014',
      'KSV015',
      'KSV016',
      'KSV020',
      'KSV021',
      'KSV030',
      'KSV104',
      'KSV106',
      'KSV110',
      'KSV117',
      'KSV118',
      'KSV118',
    ]);
    expect(checks.every((c) => !c.success && c.category === 'Kubernetes Security Check')).toBe(true);
    expect(checks.find((c) => c.checkID === 'KSV003')).toEqual({
      checkID: 'KSV003',
      title: 'Default capabilities: some containers do not drop all',
      description: expect.stringMatching(/\S/),
      severity: 'LOW',
      category: 'Kubernetes Security Check',
      messages: [
        "Container 'nginx' of ReplicaSet 'naive-7c9f5d8b6d' should add 'ALL' to 'securityContext.capabilities.drop'",
      ],
      remediation: expect.stringMatching(/\S/),
      success: false,
    });
    expect(checks.find((c) => c.checkID === 'KSV110')?.messages).toEqual([
      'replicaset naive-7c9f5d8b6d in default namespace should set metadata.namespace to a non-default namespace',
    ]);
  });

  it('fails the hardened ReplicaSet only on KSV125, and the wildcard Role on KSV044 and KSV112', () => {
    // The short form comes from the check's ID (KSV-0125), not its Rego package (KSV0125).
    expect(byFile.get('shop/hardened-replicaset.yaml')?.map((c) => c.checkID)).toEqual(['KSV125']);
    expect(byFile.get('wildcard-role.yaml')?.map((c) => `${c.checkID}/${c.severity}`)).toEqual([
      'KSV044/CRITICAL',
      'KSV112/CRITICAL',
    ]);
  });

  it("falls back to trivy's own ID for the trivy-operator form: trivy's JSON has no aliases", () => {
    const ids = toChecksByFile(parseConfigReport(fixture('config-audit.json')), {
      checkIds: 'trivy-operator',
    });
    expect(ids.get('shop/hardened-replicaset.yaml')?.map((c) => c.checkID)).toEqual(['KSV-0125']);
  });
});

describe('an audit with passed checks (--include-non-failures)', () => {
  const raw = parseConfigReport(fixture('config-audit-passed.json'));
  const byFile = toChecksByFile(raw);

  it('keeps passes as success: true with their message, and infra (KCV) checks for the infra report', () => {
    for (const result of raw.Results ?? []) {
      const all = result.Misconfigurations ?? [];
      const kcv = all.filter((m) => m.ID.startsWith('KCV'));
      expect(kcv.length).toBeGreaterThan(0);
      const checks = byFile.get(result.Target) ?? [];
      expect(checks).toHaveLength(all.length);
      expect(checks.filter((c) => !c.success)).toHaveLength(result.MisconfSummary?.Failures ?? -1);
      expect(checks.filter((c) => c.checkID.startsWith('KCV'))).toHaveLength(kcv.length);
    }
    const pass = byFile.get('shop/hardened-replicaset.yaml')?.find((c) => c.checkID === 'KSV003');
    expect(pass).toMatchObject({ success: true, messages: ['No issues found'], severity: 'LOW' });
  });
});

describe('parseConfigReport', () => {
  it('rejects an unknown misconfiguration status', () => {
    const bad = fixture('config-audit.json').replace('"Status": "FAIL"', '"Status": "MAYBE"');
    expect(() => parseConfigReport(bad)).toThrow(expect.objectContaining({ code: TrivyErrorCode.Parse }));
  });

  it('maps a file whose checks all passed (summary only) to no checks, and skips exceptions', () => {
    // Hand-written, in trivy's shape: the captured audits have no EXCEPTION or custom check.
    const report = parseConfigReport(
      JSON.stringify({
        SchemaVersion: 2,
        ArtifactName: '/batch',
        ArtifactType: 'filesystem',
        Results: [
          {
            Target: 'a.yaml',
            Class: 'config',
            Type: 'kubernetes',
            MisconfSummary: { Successes: 90, Failures: 0 },
          },
          {
            Target: 'b.yaml',
            Misconfigurations: [
              {
                ID: 'KSV-0001',
                Namespace: 'builtin.kubernetes.KSV001',
                Severity: 'MEDIUM',
                Status: 'EXCEPTION',
              },
              { ID: 'USR-0001', Namespace: 'user.custom', Severity: 'BOGUS', Status: 'FAIL', Message: 'm' },
            ],
          },
        ],
      }),
    );
    expect(toChecksByFile(report)).toEqual(
      new Map([
        ['a.yaml', []],
        [
          'b.yaml',
          [
            {
              checkID: 'USR-0001',
              severity: 'UNKNOWN',
              category: 'Kubernetes Security Check',
              messages: ['m'],
              success: false,
            },
          ],
        ],
      ]),
    );
  });
});
