import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CLUSTER_COMPLIANCE_REPORT, ClusterComplianceReportSchema, normalizeCheckId } from './compliance.ts';
import { complianceStatus, createFailureIndex, indexFailures, specCheckIds } from './compliance-status.ts';
import { API_VERSION, crdName, GROUP, VERSION } from './resources.ts';
import { readSpecFile as readSpec, SPEC_DIR as specDir } from './testing/compliance-specs.ts';
import { compareZodWithOpenApi, type OpenApiSchema, validateStructural } from './testing/structural.ts';

// The vendored specs (deploy/compliance, trivy's own data) and the ClusterComplianceReport CRD.

const deploy = new URL('../../../deploy/', import.meta.url);
/** The trivy-checks version trivy v0.74.0's go.mod requires (deploy/compliance/README.md). */
const TRIVY_CHECKS = 'v1.12.2-0.20251219190323-79d27547baf5';
const SPECS = ['k8s-cis-1.23', 'k8s-nsa-1.0', 'k8s-pss-baseline-0.1', 'k8s-pss-restricted-0.1'];

interface Crd {
  spec: {
    group: string;
    scope: string;
    names: Record<string, unknown>;
    versions: {
      name: string;
      subresources?: Record<string, unknown>;
      additionalPrinterColumns?: { name: string; type: string; jsonPath: string; priority?: number }[];
      schema: { openAPIV3Schema: OpenApiSchema };
    }[];
  };
}
const crd = (() => {
  const file = new URL('crds/aquasecurity.github.io_clustercompliancereports.yaml', deploy);
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map(
    (d) => d.toJS() as (Crd & { metadata: { name: string } }) | null,
  );
  const found = docs.find((d) => d?.metadata.name === crdName(CLUSTER_COMPLIANCE_REPORT));
  if (!found) throw new Error('no ClusterComplianceReport CRD');
  return found;
})();
const version = crd.spec.versions[0];
const openApi = version?.schema.openAPIV3Schema ?? {};

describe('deploy/compliance: the specs trivy-operator installs, from trivy-checks', () => {
  it('holds exactly the four specs, each named by its id', () => {
    expect(
      readdirSync(specDir)
        .filter((f) => f.endsWith('.yaml'))
        .sort(),
    ).toEqual(SPECS.map((s) => `${s}.yaml`).sort());
    for (const id of SPECS) expect(readSpec(id).id).toBe(id);
  });

  it('are byte-identical to the Go module cache copy, when the cache has it', (ctx) => {
    const gomodcache = process.env.GOMODCACHE || join(homedir(), 'go', 'pkg', 'mod');
    const dir = join(
      gomodcache,
      'github.com',
      'aquasecurity',
      `trivy-checks@${TRIVY_CHECKS}`,
      'pkg',
      'compliance',
    );
    if (!existsSync(dir))
      ctx.skip(`no ${dir} (go mod download github.com/aquasecurity/trivy-checks@${TRIVY_CHECKS})`);
    for (const id of SPECS)
      expect(readFileSync(new URL(`${id}.yaml`, specDir), 'utf8'), id).toBe(
        readFileSync(join(dir, `${id}.yaml`), 'utf8'),
      );
  });

  it('use check ids the writer can match: every one has the KSV/KCV form', () => {
    for (const id of SPECS)
      for (const c of readSpec(id).controls)
        for (const k of c.checks ?? [])
          expect(normalizeCheckId(k.id), `${id} ${c.id}`).toMatch(/^(KSV|KCV)-\d+$/);
  });

  it('as ClusterComplianceReports, they are valid for the CRD', () => {
    for (const id of SPECS) {
      const cr = ClusterComplianceReportSchema.parse({
        apiVersion: API_VERSION,
        kind: 'ClusterComplianceReport',
        metadata: { name: id },
        spec: { cron: '0 */6 * * *', reportType: 'summary', compliance: readSpec(id) },
      });
      expect(validateStructural(JSON.parse(JSON.stringify(cr)), openApi), id).toEqual([]);
    }
  });
});

describe('deploy/crds: ClusterComplianceReport', () => {
  it("matches trivy-operator's names, scope, status subresource and printer columns", () => {
    expect(crd.spec.group).toBe(GROUP);
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names).toEqual({
      kind: CLUSTER_COMPLIANCE_REPORT.kind,
      listKind: CLUSTER_COMPLIANCE_REPORT.listKind,
      plural: CLUSTER_COMPLIANCE_REPORT.plural,
      singular: CLUSTER_COMPLIANCE_REPORT.singular,
      shortNames: [...CLUSTER_COMPLIANCE_REPORT.shortNames],
    });
    expect(version).toMatchObject({
      name: VERSION,
      served: true,
      storage: true,
      subresources: { status: {} },
    });
    expect(
      version?.additionalPrinterColumns?.map(({ name, type, jsonPath, priority }) => ({
        name,
        type,
        jsonPath,
        ...(priority ? { priority } : {}),
      })),
    ).toEqual([
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'Fail', type: 'integer', jsonPath: '.status.summary.failCount', priority: 1 },
      { name: 'Pass', type: 'integer', jsonPath: '.status.summary.passCount', priority: 1 },
    ]);
    expect(openApi['x-kubernetes-preserve-unknown-fields']).toBe(true);
  });

  it('agrees field by field with the zod schema', () => {
    expect(compareZodWithOpenApi(ClusterComplianceReportSchema, openApi)).toEqual([]);
  });

  it('stores both status forms the writer computes, unpruned', () => {
    const spec = readSpec('k8s-nsa-1.0');
    const index = createFailureIndex(10);
    indexFailures(
      index,
      {
        kind: 'ConfigAuditReport',
        namespace: 'shop',
        name: 'replicaset-web-7d9f',
        checks: [
          {
            checkID: 'KSV017',
            title: 'Privileged container',
            description: 'Privileged containers share namespaces with the host system.',
            severity: 'HIGH',
            category: 'Kubernetes Security Check',
            messages: ["Container 'web' should set 'securityContext.privileged' to false"],
            remediation: 'Change securityContext.privileged to false.',
            success: false,
          },
        ],
      },
      specCheckIds([{ cron: '* * * * *', reportType: 'all', compliance: spec }]),
    );
    for (const reportType of ['summary', 'all'] as const) {
      const { status } = complianceStatus(
        { cron: '* * * * *', reportType, compliance: spec },
        index,
        '2026-12-02T15:00:00Z',
      );
      const cr = ClusterComplianceReportSchema.parse({
        apiVersion: API_VERSION,
        kind: 'ClusterComplianceReport',
        metadata: { name: spec.id },
        spec: { cron: '* * * * *', reportType, compliance: spec },
        status,
      });
      expect(validateStructural(JSON.parse(JSON.stringify(cr)), openApi), reportType).toEqual([]);
    }
  });
});
