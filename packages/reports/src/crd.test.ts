import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { CLUSTER_COMPLIANCE_REPORT } from './compliance.ts';
import { API_VERSION, crdName, GROUP, REPORT_RESOURCES, type ReportKind, VERSION } from './resources.ts';
import {
  type ClusterConfigAuditReport,
  type ClusterInfraAssessmentReport,
  type ClusterRbacAssessmentReport,
  type ConfigAuditReport,
  type ExposedSecretReport,
  type InfraAssessmentReport,
  type RbacAssessmentReport,
  REPORT_SCHEMAS,
  type SbomReport,
  type SbomReportData,
  type VulnerabilityReport,
  VulnerabilityReportDataSchema,
  VulnerabilitySchema,
} from './schemas.ts';
import { compareZodWithOpenApi, type OpenApiSchema, validateStructural } from './testing/structural.ts';

const crdDir = new URL('../../../deploy/crds/', import.meta.url);

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  priority?: number;
}
interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: string[];
      categories?: string[];
    };
    scope: string;
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      additionalPrinterColumns?: PrinterColumn[];
      schema: { openAPIV3Schema: OpenApiSchema };
    }[];
  };
}

function loadCrds(): Map<string, Crd> {
  const out = new Map<string, Crd>();
  for (const file of readdirSync(crdDir).filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseAllDocuments(readFileSync(new URL(file, crdDir), 'utf8'))) {
      expect(doc.errors, file).toEqual([]);
      const crd = doc.toJS() as Crd | null;
      if (crd?.kind === 'CustomResourceDefinition') out.set(crd.metadata.name, crd);
    }
  }
  return out;
}

const crds = loadCrds();
const kinds = Object.keys(REPORT_RESOURCES) as ReportKind[];

function crdFor(kind: ReportKind): Crd {
  const crd = crds.get(crdName(REPORT_RESOURCES[kind]));
  if (!crd) throw new Error(`no CRD for ${kind} in deploy/crds`);
  return crd;
}
const openApiFor = (kind: ReportKind): OpenApiSchema => {
  const v = crdFor(kind).spec.versions[0];
  if (!v) throw new Error(`no version in CRD for ${kind}`);
  return v.schema.openAPIV3Schema;
};

// trivy-operator's printer columns (the kubebuilder:printcolumn markers in
// pkg/apis/aquasecurity/v1alpha1/*_types.go, as generated into deploy/helm/crds/*.yaml).
const age = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const scanner = { name: 'Scanner', type: 'string', jsonPath: '.report.scanner.name' };
const image = [
  { name: 'Repository', type: 'string', jsonPath: '.report.artifact.repository' },
  { name: 'Tag', type: 'string', jsonPath: '.report.artifact.tag' },
];
const counts = (...names: string[]): PrinterColumn[] =>
  names.map((n) => ({
    name: n,
    type: 'integer',
    jsonPath: `.report.summary.${n.toLowerCase()}Count`,
    priority: 1,
  }));
const sbomCounts: PrinterColumn[] = [
  { name: 'Components', type: 'integer', jsonPath: '.report.summary.componentsCount', priority: 1 },
  { name: 'Dependencies', type: 'integer', jsonPath: '.report.summary.dependenciesCount', priority: 1 },
];
const EXPECTED_COLUMNS: Record<ReportKind, PrinterColumn[]> = {
  VulnerabilityReport: [...image, scanner, age, ...counts('Critical', 'High', 'Medium', 'Low', 'Unknown')],
  ExposedSecretReport: [...image, scanner, age, ...counts('Critical', 'High', 'Medium', 'Low')],
  ConfigAuditReport: [scanner, age, ...counts('Critical', 'High', 'Medium', 'Low')],
  ClusterConfigAuditReport: [scanner, age, ...counts('Critical', 'High', 'Medium', 'Low')],
  RbacAssessmentReport: [scanner, age, ...counts('Critical', 'High', 'Medium', 'Low')],
  ClusterRbacAssessmentReport: [scanner, age, ...counts('Critical', 'High', 'Medium', 'Low')],
  InfraAssessmentReport: [scanner, age, ...counts('Critical', 'High', 'Medium', 'Low')],
  ClusterInfraAssessmentReport: [scanner, age, ...counts('Critical', 'High', 'Medium', 'Low')],
  SbomReport: [...image, scanner, age, ...sbomCounts],
  ClusterSbomReport: [...image, scanner, age, ...sbomCounts],
};

/**
 * Whether the CRD keeps unknown top-level fields (x-kubernetes-preserve-unknown-fields at the root):
 * upstream sets it on every report CRD but InfraAssessmentReport's (its deploy/static/trivy-operator.yaml)
 * and ClusterSbomReport's (sbom_types.go marks only SbomReport with PreserveUnknownFields).
 */
const PRESERVES_UNKNOWN_ROOT: Record<ReportKind, boolean> = {
  VulnerabilityReport: true,
  ExposedSecretReport: true,
  ConfigAuditReport: true,
  ClusterConfigAuditReport: true,
  RbacAssessmentReport: true,
  ClusterRbacAssessmentReport: true,
  InfraAssessmentReport: false,
  ClusterInfraAssessmentReport: true,
  SbomReport: true,
  ClusterSbomReport: false,
};

// ---------------------------------------------------------------------------------------------
// Samples with every optional field set, built through the zod schemas.

const clusterMeta = (name: string) => ({
  name,
  labels: { 'trivy-operator.resource.kind': 'ReplicaSet', 'app.kubernetes.io/managed-by': 'fleetscan' },
  annotations: { 'trivy-operator.aquasecurity.github.io/report-ttl': '24h0m0s' },
  ownerReferences: [
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'nginx-6d4cf56db6',
      uid: 'u-1',
      controller: true,
      blockOwnerDeletion: false,
    },
  ],
  uid: 'server-set',
  resourceVersion: '42',
});
const meta = (name: string, namespace: string) => ({ ...clusterMeta(name), namespace });
const scannerValue = { name: 'Trivy', vendor: 'Aqua Security', version: '0.58.0' };
const fullCheck = {
  checkID: 'KSV041',
  title: 'Manage secrets',
  description: 'Viewing secrets at the cluster-scope is akin to cluster-admin.',
  severity: 'CRITICAL' as const,
  category: 'Kubernetes Security Check',
  messages: ["ClusterRole 'wide' shouldn't have access to manage resource 'secrets'"],
  remediation: 'Manage secrets are not allowed.',
  success: false,
  scope: { type: 'JSONPath', value: '.rules[0]' },
};
const { scope: _scope, ...unscopedCheck } = fullCheck;
const assessment = {
  scanner: scannerValue,
  summary: { criticalCount: 1, highCount: 0, mediumCount: 0, lowCount: 0 },
  checks: [fullCheck],
};
const artifact = {
  repository: 'library/nginx',
  tag: '1.27',
  digest: 'sha256:0123',
  mimeType: 'application/vnd.oci.image.manifest.v1+json',
  labels: { maintainer: 'nginx' },
};

const sbomComponent = {
  'bom-ref': 'pkg:deb/debian/libssl3@3.0.11-1',
  type: 'library',
  name: 'libssl3',
  group: 'debian',
  version: '3.0.11-1',
  purl: 'pkg:deb/debian/libssl3@3.0.11-1',
  supplier: {
    name: 'Debian OpenSSL Team',
    url: ['https://www.openssl.org'],
    contact: [{ name: 'Team', email: 'team@example.org', phone: '0' }],
  },
  hashes: [{ alg: 'SHA-256', content: 'abc' }],
  licenses: [
    { license: { id: 'Apache-2.0', name: 'Apache 2.0', url: 'https://apache.org' } },
    { expression: 'MIT' },
  ],
  properties: [{ name: 'aquasecurity:trivy:PkgType', value: 'debian' }],
};
const sbomData: SbomReportData = {
  updateTimestamp: '2025-01-02T03:04:05Z',
  scanner: scannerValue,
  registry: { server: 'index.docker.io' },
  artifact: { repository: 'library/nginx', tag: '1.27', digest: 'sha256:0123', mimeType: 'x' },
  summary: { componentsCount: 2, dependenciesCount: 1 },
  components: {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: 'urn:uuid:1',
    version: 1,
    metadata: {
      timestamp: '2025-01-02T03:04:05+00:00',
      tools: {
        components: [{ type: 'application', group: 'aquasecurity', name: 'trivy', version: '0.58.0' }],
      },
      component: { ...sbomComponent, type: 'container', name: 'nginx:1.27' },
    },
    components: [sbomComponent],
    dependencies: [{ ref: 'pkg:oci/nginx', dependsOn: ['pkg:deb/debian/libssl3@3.0.11-1'] }],
  },
};

const SAMPLES: Record<ReportKind, unknown> = {
  VulnerabilityReport: {
    apiVersion: API_VERSION,
    kind: 'VulnerabilityReport',
    metadata: meta('replicaset-nginx-6d4cf56db6-nginx', 'default'),
    report: {
      updateTimestamp: '2025-01-02T03:04:05Z',
      scanner: scannerValue,
      registry: { server: 'index.docker.io' },
      artifact,
      os: { family: 'debian', name: '12.8', eosl: false },
      summary: { criticalCount: 1, highCount: 0, mediumCount: 0, lowCount: 0, unknownCount: 0, noneCount: 0 },
      vulnerabilities: [
        {
          vulnerabilityID: 'CVE-2024-0001',
          resource: 'libssl3',
          installedVersion: '3.0.11-1',
          fixedVersion: '3.0.15-1',
          publishedDate: '2024-01-01T00:00:00Z',
          lastModifiedDate: '2024-02-01T00:00:00Z',
          severity: 'CRITICAL',
          title: 'openssl: something bad',
          description: 'A long description.',
          cvsssource: 'nvd',
          primaryLink: 'https://avd.aquasec.com/nvd/cve-2024-0001',
          links: ['https://example.org/a'],
          score: 9.8,
          target: 'library/nginx:1.27 (debian 12.8)',
          cvss: {
            nvd: {
              V3Vector: 'CVSS:3.1/AV:N',
              V3Score: 9.8,
              V2Vector: 'AV:N',
              V2Score: 7.5,
              V40Vector: 'x',
              V40Score: 9.3,
            },
          },
          class: 'os-pkgs',
          packageType: 'debian',
          packagePath: 'usr/lib/x',
          packagePURL: 'pkg:deb/debian/libssl3@3.0.11-1',
        },
      ],
    },
  } satisfies VulnerabilityReport,
  ConfigAuditReport: {
    apiVersion: API_VERSION,
    kind: 'ConfigAuditReport',
    metadata: meta('replicaset-nginx-6d4cf56db6', 'default'),
    report: {
      updateTimestamp: '2025-01-02T03:04:05Z',
      scanner: scannerValue,
      summary: { criticalCount: 0, highCount: 1, mediumCount: 0, lowCount: 0 },
      checks: [
        {
          checkID: 'KSV001',
          title: 'Process can elevate its own privileges',
          description: 'A program inside the container can elevate its own privileges.',
          severity: 'HIGH',
          category: 'Kubernetes Security Check',
          messages: ["Container 'nginx' should set 'allowPrivilegeEscalation' to false"],
          remediation: 'Set allowPrivilegeEscalation to false.',
          success: false,
          scope: { type: 'Container', value: 'nginx' },
        },
      ],
    },
  } satisfies ConfigAuditReport,
  ClusterConfigAuditReport: {
    apiVersion: API_VERSION,
    kind: 'ClusterConfigAuditReport',
    metadata: clusterMeta('clusterrole-6f69bb5b79'),
    report: {
      updateTimestamp: '2025-01-02T03:04:05Z',
      scanner: scannerValue,
      summary: { criticalCount: 0, highCount: 0, mediumCount: 0, lowCount: 0 },
      checks: [{ checkID: 'KSV041', severity: 'CRITICAL', success: true }],
    },
  } satisfies ClusterConfigAuditReport,
  ExposedSecretReport: {
    apiVersion: API_VERSION,
    kind: 'ExposedSecretReport',
    metadata: meta('replicaset-app-7f9c-app', 'default'),
    report: {
      updateTimestamp: '2025-01-02T03:04:05Z',
      scanner: scannerValue,
      registry: { server: 'ghcr.io' },
      artifact,
      summary: { criticalCount: 1, highCount: 0, mediumCount: 0, lowCount: 0 },
      secrets: [
        {
          target: '/app/.env',
          ruleID: 'aws-access-key-id',
          title: 'AWS Access Key ID',
          category: 'AWS',
          severity: 'CRITICAL',
          match: 'AWS_ACCESS_KEY_ID=********************',
        },
      ],
    },
  } satisfies ExposedSecretReport,
  RbacAssessmentReport: {
    apiVersion: API_VERSION,
    kind: 'RbacAssessmentReport',
    metadata: meta('role-deployer', 'shop'),
    report: assessment,
  } satisfies RbacAssessmentReport,
  ClusterRbacAssessmentReport: {
    apiVersion: API_VERSION,
    kind: 'ClusterRbacAssessmentReport',
    metadata: clusterMeta('clusterrole-wide'),
    report: assessment,
  } satisfies ClusterRbacAssessmentReport,
  InfraAssessmentReport: {
    apiVersion: API_VERSION,
    kind: 'InfraAssessmentReport',
    metadata: meta('pod-kube-apiserver-node1', 'kube-system'),
    report: { ...assessment, checks: [{ ...unscopedCheck, checkID: 'KCV0001' }] },
  } satisfies InfraAssessmentReport,
  ClusterInfraAssessmentReport: {
    apiVersion: API_VERSION,
    kind: 'ClusterInfraAssessmentReport',
    metadata: clusterMeta('node-node1'),
    report: assessment,
  } satisfies ClusterInfraAssessmentReport,
  SbomReport: {
    apiVersion: API_VERSION,
    kind: 'SbomReport',
    metadata: meta('replicaset-nginx-6d4cf56db6-nginx', 'default'),
    report: sbomData,
  } satisfies SbomReport,
  ClusterSbomReport: {
    apiVersion: API_VERSION,
    kind: 'ClusterSbomReport',
    metadata: clusterMeta('7b8c9d6f5'),
    report: sbomData,
  },
};

/** Walks a zod schema along a printer-column jsonPath like `.report.summary.lowCount`. */
function zodHasPath(schema: z.ZodType, jsonPath: string): boolean {
  let s: z.ZodType | undefined = schema;
  for (const key of jsonPath.split('.').slice(1)) {
    while (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    if (!(s instanceof z.ZodObject)) return false;
    s = (s.shape as Record<string, z.ZodType>)[key];
    if (!s) return false;
  }
  return true;
}

describe('deploy/crds', () => {
  it('has exactly one CRD per report kind (and ClusterComplianceReport, compliance-specs.test.ts)', () => {
    expect([...crds.keys()].filter((n) => n !== crdName(CLUSTER_COMPLIANCE_REPORT)).sort()).toEqual(
      kinds.map((k) => crdName(REPORT_RESOURCES[k])).sort(),
    );
  });

  describe.each(kinds)('%s', (kind) => {
    const resource = REPORT_RESOURCES[kind];

    it('matches trivy-operator names, scope and version', () => {
      const crd = crdFor(kind);
      expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
      expect(crd.spec.group).toBe(GROUP);
      expect(crd.spec.scope).toBe(resource.scope);
      expect(crd.spec.names).toEqual({
        kind: resource.kind,
        listKind: resource.listKind,
        plural: resource.plural,
        singular: resource.singular,
        shortNames: [...resource.shortNames],
        // trivy-operator declares no categories on these CRDs.
      });
      expect(crd.spec.versions).toHaveLength(1);
      const [v] = crd.spec.versions;
      expect(v).toMatchObject({ name: VERSION, served: true, storage: true });
      expect(v?.schema.openAPIV3Schema['x-kubernetes-preserve-unknown-fields'] ?? false).toBe(
        PRESERVES_UNKNOWN_ROOT[kind],
      );
      expect(v?.schema.openAPIV3Schema.required).toEqual(['report']);
    });

    it('has trivy-operator printer columns, each pointing at a modelled field', () => {
      const columns = (crdFor(kind).spec.versions[0]?.additionalPrinterColumns ?? []).map(
        ({ name, type, jsonPath, priority }) => ({ name, type, jsonPath, ...(priority ? { priority } : {}) }),
      );
      expect(columns).toEqual(EXPECTED_COLUMNS[kind]);
      for (const c of columns) {
        if (c.jsonPath.startsWith('.metadata.')) continue;
        expect(zodHasPath(REPORT_SCHEMAS[kind], c.jsonPath), c.jsonPath).toBe(true);
      }
    });

    it('agrees field by field with the zod schema (no drift in either direction)', () => {
      expect(compareZodWithOpenApi(REPORT_SCHEMAS[kind], openApiFor(kind))).toEqual([]);
    });

    it('accepts a fully populated sample built through the zod schema', () => {
      const parsed = REPORT_SCHEMAS[kind].parse(SAMPLES[kind]);
      // Server-set metadata survives parsing.
      expect(parsed.metadata.resourceVersion).toBe('42');
      expect(validateStructural(JSON.parse(JSON.stringify(parsed)), openApiFor(kind))).toEqual([]);
    });
  });
});

describe('structural checker', () => {
  const schema = openApiFor('VulnerabilityReport');
  const sample = (): VulnerabilityReport =>
    structuredClone(SAMPLES.VulnerabilityReport) as VulnerabilityReport;

  it('flags fields the API server would prune', () => {
    const r = sample() as unknown as { report: { vulnerabilities: Record<string, unknown>[] } };
    const v = r.report.vulnerabilities[0];
    if (v) v.dataSource = { id: 'nvd' };
    expect(validateStructural(r, schema)).toEqual([
      {
        path: '.report.vulnerabilities[0].dataSource',
        message: 'unknown field (the API server would prune it)',
      },
    ]);
  });

  it('allows unknown top-level fields (root preserves unknown fields)', () => {
    expect(validateStructural({ ...sample(), status: { anything: 1 } }, schema)).toEqual([]);
  });

  it('flags missing required fields, wrong types, enums and minimums', () => {
    const r = sample();
    const { os: _os, ...report } = r.report;
    const bad = {
      ...r,
      report: {
        ...report,
        updateTimestamp: 'yesterday',
        summary: { ...r.report.summary, lowCount: -1, highCount: 1.5 },
        vulnerabilities: [{ ...r.report.vulnerabilities[0], severity: 'NONE', links: 'x' }],
      },
    };
    expect(
      validateStructural(bad, schema)
        .map((p) => p.path)
        .sort(),
    ).toEqual(
      [
        '.report',
        '.report.summary.highCount',
        '.report.summary.lowCount',
        '.report.updateTimestamp',
        '.report.vulnerabilities[0].links',
        '.report.vulnerabilities[0].severity',
      ].sort(),
    );
  });
});

describe('zod/CRD comparison', () => {
  const schema = openApiFor('VulnerabilityReport');
  const withReport = (report: z.ZodType) => REPORT_SCHEMAS.VulnerabilityReport.extend({ report });

  it('flags a zod field the CRD lacks', () => {
    const drifted = withReport(
      VulnerabilityReportDataSchema.extend({
        vulnerabilities: z.array(VulnerabilitySchema.extend({ severitySource: z.string().optional() })),
      }),
    );
    expect(compareZodWithOpenApi(drifted, schema)).toEqual([
      {
        path: '.report.vulnerabilities[].severitySource',
        message: 'zod field missing from the CRD (the API server would prune it)',
      },
    ]);
  });

  it('flags a CRD field zod does not model, and CRD-required fields zod makes optional', () => {
    const drifted = withReport(VulnerabilityReportDataSchema.omit({ registry: true }).partial({ os: true }));
    expect(compareZodWithOpenApi(drifted, schema)).toEqual([
      { path: '.report.os', message: 'CRD requires os, zod makes it optional' },
      { path: '.report.registry', message: 'CRD field not modelled in zod' },
    ]);
  });

  it('flags type, enum and minimum mismatches', () => {
    const drifted = withReport(
      VulnerabilityReportDataSchema.extend({
        summary: VulnerabilityReportDataSchema.shape.summary.extend({ lowCount: z.number() }),
        vulnerabilities: z.array(
          VulnerabilitySchema.extend({ severity: z.enum(['HIGH', 'NONE']), score: z.string() }),
        ),
      }),
    );
    expect(compareZodWithOpenApi(drifted, schema).map((p) => `${p.path}: ${p.message}`)).toEqual([
      '.report.summary.lowCount: zod number but CRD type integer',
      '.report.vulnerabilities[].severity: zod allows "NONE", not in the CRD enum',
      '.report.vulnerabilities[].score: zod string but CRD type number',
    ]);
  });
});
