/**
 * Report shapes, the single source of truth for what fleetscan writes into (and reads back from)
 * the trivy-operator CRDs.
 *
 * Field names and JSON tags follow trivy-operator's Go types in
 * pkg/apis/aquasecurity/v1alpha1/{common,vulnerability,config_audit,exposed_secrets,rbac_assessment,
 * infra_assessment,sbom}_types.go.
 * Required-ness follows what trivy-operator serialises: a Go field without `omitempty` is always
 * written, so it is required here (this is a superset of the CRD's `required` lists, which
 * crd.test.ts checks); `omitempty` and pointer fields are optional.
 * Every field allowed here exists in deploy/crds/*.yaml and vice versa (crd.test.ts), so the
 * API server never prunes anything fleetscan writes.
 */
import { z } from 'zod';
import {
  API_VERSION,
  CLUSTER_CONFIG_AUDIT_REPORT,
  CLUSTER_INFRA_ASSESSMENT_REPORT,
  CLUSTER_RBAC_ASSESSMENT_REPORT,
  CLUSTER_SBOM_REPORT,
  CONFIG_AUDIT_REPORT,
  EXPOSED_SECRET_REPORT,
  INFRA_ASSESSMENT_REPORT,
  type KindResource,
  RBAC_ASSESSMENT_REPORT,
  type ReportScope,
  SBOM_REPORT,
  VULNERABILITY_REPORT,
} from './resources.ts';

// ---------------------------------------------------------------------------------------------
// Common

/** Severities of vulnerabilities and config audit checks (the VulnerabilityReport CRD enum). */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
export const SeveritySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof SeveritySchema>;
/** Most severe first: CRITICAL 0 … UNKNOWN 4; anything else after them (5). */
export const severityRank = (s: string): number => {
  const i = (SEVERITIES as readonly string[]).indexOf(s);
  return i < 0 ? SEVERITIES.length : i;
};

/** Exposed secrets have no UNKNOWN severity (the ExposedSecretReport CRD enum). */
export const SECRET_SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const;
export const SecretSeveritySchema = z.enum(SECRET_SEVERITIES);
export type SecretSeverity = z.infer<typeof SecretSeveritySchema>;

/** metav1.Time as serialised by the API server: RFC 3339 (`2024-05-01T10:00:00Z`). */
export const TimestampSchema = z.iso.datetime({ offset: true });

const Count = z.int().min(0);
/** The counts every summary but the SBOM's has; a VulnerabilityReport's adds unknown and none. */
const SEVERITY_COUNTS = { criticalCount: Count, highCount: Count, mediumCount: Count, lowCount: Count };

export const ScannerSchema = z.object({
  name: z.string(),
  vendor: z.string(),
  version: z.string(),
});
export type Scanner = z.infer<typeof ScannerSchema>;

export const RegistrySchema = z.object({
  /** FQDN of the registry server; trivy-operator always writes it (possibly empty). */
  server: z.string(),
});
export type Registry = z.infer<typeof RegistrySchema>;

export const ArtifactSchema = z.object({
  repository: z.string(),
  digest: z.string().optional(),
  tag: z.string().optional(),
  mimeType: z.string().optional(),
  /** Image labels; only in the newest trivy-operator CRD (see package notes). */
  labels: z.record(z.string(), z.string()).optional(),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

// ---------------------------------------------------------------------------------------------
// Kubernetes object metadata (the CRDs leave `metadata` to the API server).

export const OwnerReferenceSchema = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof OwnerReferenceSchema>;

/** ObjectMeta; server-set fields (uid, resourceVersion, creationTimestamp, ...) pass through. */
export const ObjectMetaSchema = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  ownerReferences: z.array(OwnerReferenceSchema).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

export const NamespacedObjectMetaSchema = ObjectMetaSchema.extend({ namespace: z.string().min(1) });
export type NamespacedObjectMeta = z.infer<typeof NamespacedObjectMetaSchema>;

/**
 * A report object: apiVersion, its kind, metadata (with a namespace for a namespaced kind) and the
 * `report` its CRD holds.
 */
function reportObjectSchema<K extends string, S extends ReportScope, R extends z.ZodType>(
  resource: KindResource<K, S>,
  report: R,
) {
  const metadata = (
    resource.scope === 'Namespaced' ? NamespacedObjectMetaSchema : ObjectMetaSchema
  ) as S extends 'Namespaced' ? typeof NamespacedObjectMetaSchema : typeof ObjectMetaSchema;
  return z.object({ apiVersion: z.literal(API_VERSION), kind: z.literal(resource.kind), metadata, report });
}

// ---------------------------------------------------------------------------------------------
// VulnerabilityReport (vulnerability_types.go)

export const OSSchema = z.object({
  family: z.string(),
  name: z.string().optional(),
  eosl: z.boolean().optional(),
});
export type OS = z.infer<typeof OSSchema>;

export const VulnerabilitySummarySchema = z.object({
  ...SEVERITY_COUNTS,
  unknownCount: Count,
  /** Always written by trivy-operator (no omitempty) though optional in the CRD; trivy-operator leaves it 0. */
  noneCount: Count,
});
export type VulnerabilitySummary = z.infer<typeof VulnerabilitySummarySchema>;

/** One vendor's CVSS scores (trivy-db types.CVSS; every field omitempty). */
export const CVSSSchema = z.object({
  V2Vector: z.string().optional(),
  V3Vector: z.string().optional(),
  V40Vector: z.string().optional(),
  V2Score: z.number().optional(),
  V3Score: z.number().optional(),
  V40Score: z.number().optional(),
});
export type CVSS = z.infer<typeof CVSSSchema>;

export const VulnerabilitySchema = z.object({
  vulnerabilityID: z.string(),
  /** The vulnerable package, application or library. */
  resource: z.string(),
  installedVersion: z.string(),
  fixedVersion: z.string(),
  publishedDate: z.string(),
  lastModifiedDate: z.string(),
  severity: SeveritySchema,
  title: z.string(),
  description: z.string().optional(),
  cvsssource: z.string().optional(),
  primaryLink: z.string().optional(),
  /** No omitempty in Go: always written, `[]` when there are none. */
  links: z.array(z.string()),
  score: z.number().optional(),
  /** No omitempty in Go: always written, possibly empty. */
  target: z.string(),
  /** Keyed by vendor (trivy-db SourceID, e.g. `nvd`, `redhat`). */
  cvss: z.record(z.string(), CVSSSchema).optional(),
  class: z.string().optional(),
  packageType: z.string().optional(),
  /** Go field PkgPath. */
  packagePath: z.string().optional(),
  /** Go field PkgPURL. */
  packagePURL: z.string().optional(),
});
export type Vulnerability = z.infer<typeof VulnerabilitySchema>;

export const VulnerabilityReportDataSchema = z.object({
  updateTimestamp: TimestampSchema,
  scanner: ScannerSchema,
  registry: RegistrySchema,
  artifact: ArtifactSchema,
  os: OSSchema,
  summary: VulnerabilitySummarySchema,
  vulnerabilities: z.array(VulnerabilitySchema),
});
export type VulnerabilityReportData = z.infer<typeof VulnerabilityReportDataSchema>;

export const VulnerabilityReportSchema = reportObjectSchema(
  VULNERABILITY_REPORT,
  VulnerabilityReportDataSchema,
);
export type VulnerabilityReport = z.infer<typeof VulnerabilityReportSchema>;

// ---------------------------------------------------------------------------------------------
// ConfigAuditReport / ClusterConfigAuditReport (config_audit_types.go)

export const ConfigAuditSummarySchema = z.object(SEVERITY_COUNTS);
export type ConfigAuditSummary = z.infer<typeof ConfigAuditSummarySchema>;

export const CheckScopeSchema = z.object({
  /** e.g. `Container`, `ConfigMapKey`, `JSONPath`. */
  type: z.string(),
  /** e.g. a container name, a ConfigMap key or a JSONPath expression. */
  value: z.string(),
});
export type CheckScope = z.infer<typeof CheckScopeSchema>;

export const CheckSchema = z.object({
  /** Go field ID. */
  checkID: z.string(),
  title: z.string().optional(),
  description: z.string().optional(),
  severity: SeveritySchema,
  category: z.string().optional(),
  messages: z.array(z.string()).optional(),
  remediation: z.string().optional(),
  success: z.boolean(),
  scope: CheckScopeSchema.optional(),
});
export type Check = z.infer<typeof CheckSchema>;

export const ConfigAuditReportDataSchema = z.object({
  updateTimestamp: TimestampSchema,
  scanner: ScannerSchema,
  summary: ConfigAuditSummarySchema,
  checks: z.array(CheckSchema),
});
export type ConfigAuditReportData = z.infer<typeof ConfigAuditReportDataSchema>;

export const ConfigAuditReportSchema = reportObjectSchema(CONFIG_AUDIT_REPORT, ConfigAuditReportDataSchema);
export type ConfigAuditReport = z.infer<typeof ConfigAuditReportSchema>;

export const ClusterConfigAuditReportSchema = reportObjectSchema(
  CLUSTER_CONFIG_AUDIT_REPORT,
  ConfigAuditReportDataSchema,
);
export type ClusterConfigAuditReport = z.infer<typeof ClusterConfigAuditReportSchema>;

// ---------------------------------------------------------------------------------------------
// RbacAssessmentReport / ClusterRbacAssessmentReport (rbac_assessment_types.go) and
// InfraAssessmentReport / ClusterInfraAssessmentReport (infra_assessment_types.go): the same checks
// as a config audit, counted the same way, but the Go types have no updateTimestamp (the CRDs
// would prune one), so the time of the scan is only in fleetscan's updated-at annotation. Unlike
// ConfigAuditReportData, scanner and summary are not optional there: the CRDs require them.

export const AssessmentSummarySchema = ConfigAuditSummarySchema;
export type AssessmentSummary = ConfigAuditSummary;

export const AssessmentReportDataSchema = z.object({
  scanner: ScannerSchema,
  summary: AssessmentSummarySchema,
  checks: z.array(CheckSchema),
});
export type AssessmentReportData = z.infer<typeof AssessmentReportDataSchema>;

export const RbacAssessmentReportSchema = reportObjectSchema(
  RBAC_ASSESSMENT_REPORT,
  AssessmentReportDataSchema,
);
export type RbacAssessmentReport = z.infer<typeof RbacAssessmentReportSchema>;

export const ClusterRbacAssessmentReportSchema = reportObjectSchema(
  CLUSTER_RBAC_ASSESSMENT_REPORT,
  AssessmentReportDataSchema,
);
export type ClusterRbacAssessmentReport = z.infer<typeof ClusterRbacAssessmentReportSchema>;

export const InfraAssessmentReportSchema = reportObjectSchema(
  INFRA_ASSESSMENT_REPORT,
  AssessmentReportDataSchema,
);
export type InfraAssessmentReport = z.infer<typeof InfraAssessmentReportSchema>;

export const ClusterInfraAssessmentReportSchema = reportObjectSchema(
  CLUSTER_INFRA_ASSESSMENT_REPORT,
  AssessmentReportDataSchema,
);
export type ClusterInfraAssessmentReport = z.infer<typeof ClusterInfraAssessmentReportSchema>;

// ---------------------------------------------------------------------------------------------
// ExposedSecretReport (exposed_secrets_types.go)

export const ExposedSecretSummarySchema = z.object(SEVERITY_COUNTS);
export type ExposedSecretSummary = z.infer<typeof ExposedSecretSummarySchema>;

export const ExposedSecretSchema = z.object({
  /** The file the secret was found in. */
  target: z.string(),
  ruleID: z.string(),
  title: z.string(),
  category: z.string(),
  severity: SecretSeveritySchema,
  /** The matched line, with the secret redacted by trivy. */
  match: z.string(),
});
export type ExposedSecret = z.infer<typeof ExposedSecretSchema>;

export const ExposedSecretReportDataSchema = z.object({
  updateTimestamp: TimestampSchema,
  scanner: ScannerSchema,
  registry: RegistrySchema,
  artifact: ArtifactSchema,
  summary: ExposedSecretSummarySchema,
  secrets: z.array(ExposedSecretSchema),
});
export type ExposedSecretReportData = z.infer<typeof ExposedSecretReportDataSchema>;

export const ExposedSecretReportSchema = reportObjectSchema(
  EXPOSED_SECRET_REPORT,
  ExposedSecretReportDataSchema,
);
export type ExposedSecretReport = z.infer<typeof ExposedSecretReportSchema>;

// ---------------------------------------------------------------------------------------------
// SbomReport, ClusterSbomReport (sbom_types.go): trivy's CycloneDX, reduced to the fields the
// CRD keeps. Every field there is `omitempty` but bomFormat and specVersion.

export const SbomComponentSchema = z.object({
  'bom-ref': z.string().optional(),
  type: z.string().optional(),
  name: z.string().optional(),
  group: z.string().optional(),
  version: z.string().optional(),
  purl: z.string().optional(),
  supplier: z
    .object({
      name: z.string().optional(),
      url: z.array(z.string()).optional(),
      contact: z
        .array(
          z.object({
            name: z.string().optional(),
            email: z.string().optional(),
            phone: z.string().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  hashes: z.array(z.object({ alg: z.string().optional(), content: z.string().optional() })).optional(),
  licenses: z
    .array(
      z.object({
        license: z
          .object({ id: z.string().optional(), name: z.string().optional(), url: z.string().optional() })
          .optional(),
        expression: z.string().optional(),
      }),
    )
    .optional(),
  properties: z.array(z.object({ name: z.string().optional(), value: z.string().optional() })).optional(),
});
export type SbomComponent = z.infer<typeof SbomComponentSchema>;

export const SbomDependencySchema = z.object({
  ref: z.string().optional(),
  dependsOn: z.array(z.string()).optional(),
});
export type SbomDependency = z.infer<typeof SbomDependencySchema>;

export const BomSchema = z.object({
  bomFormat: z.string(),
  specVersion: z.string(),
  serialNumber: z.string().optional(),
  version: z.int().optional(),
  metadata: z
    .object({
      timestamp: z.string().optional(),
      tools: z.object({ components: z.array(SbomComponentSchema).optional() }).optional(),
      component: SbomComponentSchema.optional(),
    })
    .optional(),
  components: z.array(SbomComponentSchema).optional(),
  dependencies: z.array(SbomDependencySchema).optional(),
});
export type Bom = z.infer<typeof BomSchema>;

export const SbomSummarySchema = z.object({
  componentsCount: Count,
  dependenciesCount: Count,
});
export type SbomSummary = z.infer<typeof SbomSummarySchema>;

export const SbomReportDataSchema = z.object({
  updateTimestamp: TimestampSchema,
  scanner: ScannerSchema,
  registry: RegistrySchema,
  /** The SBOM CRDs' artifact has no image labels. */
  artifact: ArtifactSchema.omit({ labels: true }),
  summary: SbomSummarySchema,
  /** The BOM: trivy-operator's JSON name for its `Bom` field. */
  components: BomSchema,
});
export type SbomReportData = z.infer<typeof SbomReportDataSchema>;

export const SbomReportSchema = reportObjectSchema(SBOM_REPORT, SbomReportDataSchema);
export type SbomReport = z.infer<typeof SbomReportSchema>;

export const ClusterSbomReportSchema = reportObjectSchema(CLUSTER_SBOM_REPORT, SbomReportDataSchema);
export type ClusterSbomReport = z.infer<typeof ClusterSbomReportSchema>;

/** The report object schema for each kind with a CRD in deploy/crds. */
export const REPORT_SCHEMAS = {
  VulnerabilityReport: VulnerabilityReportSchema,
  ConfigAuditReport: ConfigAuditReportSchema,
  ClusterConfigAuditReport: ClusterConfigAuditReportSchema,
  ExposedSecretReport: ExposedSecretReportSchema,
  RbacAssessmentReport: RbacAssessmentReportSchema,
  ClusterRbacAssessmentReport: ClusterRbacAssessmentReportSchema,
  InfraAssessmentReport: InfraAssessmentReportSchema,
  ClusterInfraAssessmentReport: ClusterInfraAssessmentReportSchema,
  SbomReport: SbomReportSchema,
  ClusterSbomReport: ClusterSbomReportSchema,
} as const;

export type AnyReport = z.infer<(typeof REPORT_SCHEMAS)[keyof typeof REPORT_SCHEMAS]>;
