/**
 * Report names, labels and annotations exactly as trivy-operator produces them.
 *
 * Sources (aquasecurity/trivy-operator):
 *  - pkg/vulnerabilityreport/builder.go, pkg/exposedsecretreport/builder.go: ReportBuilder.reportName
 *  - pkg/configauditreport/builder.go: ReportBuilder.reportName, GetReport, GetClusterReport
 *  - pkg/rbacassessment/builder.go, pkg/infraassessment/builder.go: the same, per kind
 *  - pkg/kube/object.go: ObjectToObjectMeta (resource labels, name-hash fallback)
 *  - pkg/kube/labels.go: AppendResourceLabels, AppendCustomLabels
 *  - pkg/trivyoperator/constants.go: label names
 *  - pkg/apis/aquasecurity/v1alpha1/common_types.go: TTLReportAnnotation
 */
import { formatGoDuration } from './duration.ts';
import { computeHash } from './hash.ts';
import type { ObjectMeta, OwnerReference } from './schemas.ts';

// ---------------------------------------------------------------------------------------------
// Label and annotation names (pkg/trivyoperator/constants.go)

export const LABEL_RESOURCE_KIND = 'trivy-operator.resource.kind';
export const LABEL_RESOURCE_NAME = 'trivy-operator.resource.name';
export const LABEL_RESOURCE_NAME_HASH = 'trivy-operator.resource.name-hash';
export const LABEL_RESOURCE_NAMESPACE = 'trivy-operator.resource.namespace';
export const LABEL_CONTAINER_NAME = 'trivy-operator.container.name';
export const LABEL_RESOURCE_SPEC_HASH = 'resource-spec-hash';
export const LABEL_PLUGIN_CONFIG_HASH = 'plugin-config-hash';
export const LABEL_K8S_APP_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** trivy-operator writes `trivy-operator` here; fleetscan marks its own reports. */
export const MANAGED_BY_FLEETSCAN = 'fleetscan';
/** When the resource name is not a valid label value it is kept under this annotation key. */
export const ANNOTATION_RESOURCE_NAME = LABEL_RESOURCE_NAME;
export const ANNOTATION_REPORT_TTL = 'trivy-operator.aquasecurity.github.io/report-ttl';

// ---------------------------------------------------------------------------------------------
// Kubernetes validation (k8s.io/apimachinery/pkg/util/validation)

export const LABEL_VALUE_MAX_LENGTH = 63;
export const DNS1123_LABEL_MAX_LENGTH = 63;
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;

const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS1123_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** validation.IsValidLabelValue: empty, or at most 63 chars of [-A-Za-z0-9_.] starting and ending alphanumeric. */
export function isValidLabelValue(value: string): boolean {
  return value.length <= LABEL_VALUE_MAX_LENGTH && LABEL_VALUE_RE.test(value);
}

/** validation.IsDNS1123Label: at most 63 chars of [-a-z0-9] starting and ending alphanumeric. */
export function isDNS1123Label(value: string): boolean {
  return value.length <= DNS1123_LABEL_MAX_LENGTH && DNS1123_LABEL_RE.test(value);
}

/** validation.IsDNS1123Subdomain (the rule for custom resource object names). */
export function isDNS1123Subdomain(value: string): boolean {
  return value.length <= DNS1123_SUBDOMAIN_MAX_LENGTH && DNS1123_SUBDOMAIN_RE.test(value);
}

/** validation.IsQualifiedName (label and annotation keys): `[prefix/]name`. */
export function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts.length === 2 ? (parts[1] ?? '') : key;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '' || !isDNS1123Subdomain(prefix)) return false;
  }
  return name.length > 0 && name.length <= 63 && QUALIFIED_NAME_RE.test(name);
}

// ---------------------------------------------------------------------------------------------
// Report names

/**
 * Name of a per-container report (VulnerabilityReport, ExposedSecretReport):
 * `<kind lowercased>-<name>-<container>`; when that is not a valid label value (over 63 chars,
 * or characters outside [-A-Za-z0-9_.]) it becomes `<kind lowercased>-<ComputeHash(name + "-" + container)>`.
 */
export function containerReportName(ownerKind: string, ownerName: string, container: string): string {
  const kind = ownerKind.toLowerCase();
  const name = `${kind}-${ownerName}-${container}`;
  if (isValidLabelValue(name)) return name;
  return `${kind}-${computeHash(`${ownerName}-${container}`)}`;
}

export const vulnerabilityReportName = containerReportName;
export const exposedSecretReportName = containerReportName;
/** Name of an SbomReport: the per-container rule (pkg/sbomreport/builder.go reportName). */
export const sbomReportName = containerReportName;

/**
 * Name of a (Cluster)ConfigAuditReport: `<kind lowercased>-<name>`; when that is not a DNS-1123
 * label (over 63 chars, upper case, dots, ...) it becomes `<kind lowercased>-<ComputeHash(name)>`.
 */
export function configAuditReportName(ownerKind: string, ownerName: string): string {
  const kind = ownerKind.toLowerCase();
  const name = `${kind}-${ownerName}`;
  if (isDNS1123Label(name)) return name;
  return `${kind}-${computeHash(ownerName)}`;
}

/** Name of a (Cluster)RbacAssessmentReport: the config audit rule (rbacassessment/builder.go). */
export const rbacAssessmentReportName = configAuditReportName;

/**
 * Name of an InfraAssessmentReport: `<kind lowercased>-<name>`, but unlike the other audit reports
 * trivy-operator's infraassessment builder falls back to `<kind lowercased>-<ComputeHash(name)>`
 * only when the name is not a valid label value (dots and upper case are kept, as in a label).
 */
export function infraAssessmentReportName(ownerKind: string, ownerName: string): string {
  const kind = ownerKind.toLowerCase();
  const name = `${kind}-${ownerName}`;
  if (isValidLabelValue(name)) return name;
  return `${kind}-${computeHash(ownerName)}`;
}

// ---------------------------------------------------------------------------------------------
// Labels and metadata

/** The scanned resource a report belongs to (the report's controller owner). */
export interface ReportOwner {
  readonly kind: string;
  readonly name: string;
  /** Absent or '' for cluster-scoped resources. */
  readonly namespace?: string | undefined;
  /** With `uid`, makes the report's controller ownerReference (garbage collection with the owner). */
  readonly apiVersion?: string | undefined;
  readonly uid?: string | undefined;
  /** The owner's own labels, the source for `resourceLabelsToInclude`. */
  readonly labels?: Readonly<Record<string, string>> | undefined;
}

export interface ResourceIdentity {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/**
 * kube.ObjectToObjectMeta: kind and namespace labels always; the name as a label when it is a valid
 * label value, otherwise `trivy-operator.resource.name-hash: ComputeHash(name)` plus the full name in
 * the `trivy-operator.resource.name` annotation.
 */
export function resourceIdentity(owner: Pick<ReportOwner, 'kind' | 'name' | 'namespace'>): ResourceIdentity {
  const labels: Record<string, string> = {
    [LABEL_RESOURCE_KIND]: owner.kind,
    [LABEL_RESOURCE_NAMESPACE]: owner.namespace ?? '',
  };
  const annotations: Record<string, string> = {};
  if (isValidLabelValue(owner.name)) {
    labels[LABEL_RESOURCE_NAME] = owner.name;
  } else {
    labels[LABEL_RESOURCE_NAME_HASH] = computeHash(owner.name);
    annotations[ANNOTATION_RESOURCE_NAME] = owner.name;
  }
  return { labels, annotations };
}

/** Label selector (for list calls) matching the reports of one resource, as trivy-operator's ObjectRefToLabels. */
export function resourceSelectorLabels(
  owner: Pick<ReportOwner, 'kind' | 'name' | 'namespace'>,
): Record<string, string> {
  return resourceIdentity(owner).labels;
}

/** controllerutil.SetControllerReference, with blockOwnerDeletion false as trivy-operator sets it. */
export function controllerOwnerReference(owner: {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.name,
    uid: owner.uid,
    controller: true,
    blockOwnerDeletion: false,
  };
}

export interface ReportMetadataOptions {
  readonly owner: ReportOwner;
  /** `resource-spec-hash` label; omitted when empty (as trivy-operator does). See computeSpecHash. */
  readonly resourceSpecHash?: string | undefined;
  /** Report TTL in seconds, written as a Go duration (`24h0m0s`) in the report-ttl annotation. */
  readonly ttlSeconds?: number | undefined;
  /** Owner label keys copied onto the report (trivy-operator's `report.resourceLabels`). */
  readonly resourceLabelsToInclude?: readonly string[] | undefined;
  /** Extra labels for every report (trivy-operator's `report.additionalLabels`). */
  readonly additionalLabels?: Readonly<Record<string, string>> | undefined;
}

export interface ContainerReportMetadataOptions extends ReportMetadataOptions {
  readonly container: string;
}

export interface ConfigAuditReportMetadataOptions extends ReportMetadataOptions {
  /** `plugin-config-hash` label; omitted when empty. See computePluginConfigHash. */
  readonly pluginConfigHash?: string | undefined;
}

export interface ReportMetadata extends ObjectMeta {
  name: string;
  labels: Record<string, string>;
}

function appendResourceLabels(
  out: Record<string, string>,
  keys: readonly string[] | undefined,
  from: Readonly<Record<string, string>> | undefined,
): void {
  for (const key of keys ?? []) {
    const value = from?.[key];
    if (value !== undefined) out[key] = value;
  }
}

function checkLabels(labels: Record<string, string>): void {
  for (const [k, v] of Object.entries(labels)) {
    if (!isQualifiedName(k)) throw new TypeError(`invalid label key ${JSON.stringify(k)}`);
    if (!isValidLabelValue(v)) throw new TypeError(`invalid value for label ${k}: ${JSON.stringify(v)}`);
  }
}

function finish(
  name: string,
  owner: ReportOwner,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  ttlSeconds: number | undefined,
): ReportMetadata {
  const identity = resourceIdentity(owner);
  Object.assign(labels, identity.labels);
  Object.assign(annotations, identity.annotations);
  // Set after the configurable labels so configuration cannot take it away (trivy-operator sets its
  // managed-by label first, so additionalLabels could override it there).
  labels[LABEL_K8S_APP_MANAGED_BY] = MANAGED_BY_FLEETSCAN;
  if (ttlSeconds !== undefined) annotations[ANNOTATION_REPORT_TTL] = formatGoDuration(ttlSeconds);
  checkLabels(labels);

  const meta: ReportMetadata = { name, labels };
  if (owner.namespace) meta.namespace = owner.namespace;
  if (Object.keys(annotations).length > 0) meta.annotations = annotations;
  if (owner.apiVersion && owner.uid) {
    meta.ownerReferences = [
      controllerOwnerReference({
        apiVersion: owner.apiVersion,
        kind: owner.kind,
        name: owner.name,
        uid: owner.uid,
      }),
    ];
  }
  return meta;
}

/**
 * metadata for a per-container report, in trivy-operator's order: container label and spec hash,
 * then owner labels to include, then additional labels, then the resource identity labels.
 */
export function containerReportMetadata(opts: ContainerReportMetadataOptions): ReportMetadata {
  const labels: Record<string, string> = { [LABEL_CONTAINER_NAME]: opts.container };
  if (opts.resourceSpecHash) labels[LABEL_RESOURCE_SPEC_HASH] = opts.resourceSpecHash;
  appendResourceLabels(labels, opts.resourceLabelsToInclude, opts.owner.labels);
  Object.assign(labels, opts.additionalLabels);
  return finish(
    containerReportName(opts.owner.kind, opts.owner.name, opts.container),
    opts.owner,
    labels,
    {},
    opts.ttlSeconds,
  );
}

/** metadata for a VulnerabilityReport (trivy-operator sets the TTL annotation when a TTL is configured). */
export const vulnerabilityReportMetadata = containerReportMetadata;

/**
 * metadata for an SbomReport: the per-container labels and order (pkg/sbomreport/builder.go);
 * trivy-operator sets no TTL annotation on it.
 */
export const sbomReportMetadata = containerReportMetadata;

/**
 * metadata for an ExposedSecretReport. trivy-operator never sets a TTL annotation on these; pass
 * `ttlSeconds` only if fleetscan wants one.
 */
export const exposedSecretReportMetadata = containerReportMetadata;

/**
 * metadata for a ConfigAuditReport or, when the owner has no namespace, a ClusterConfigAuditReport:
 * owner labels to include, additional labels, then spec and plugin-config hashes, then the resource
 * identity. trivy-operator adds the TTL annotation only to namespaced config audit reports.
 */
export function configAuditReportMetadata(opts: ConfigAuditReportMetadataOptions): ReportMetadata {
  return auditMetadata(configAuditReportName(opts.owner.kind, opts.owner.name), opts);
}

/**
 * metadata for a RbacAssessmentReport or, when the owner has no namespace (a ClusterRole), a
 * ClusterRbacAssessmentReport: the config audit's labels, order and TTL rule (namespaced only).
 */
export function rbacAssessmentReportMetadata(opts: ConfigAuditReportMetadataOptions): ReportMetadata {
  return auditMetadata(rbacAssessmentReportName(opts.owner.kind, opts.owner.name), opts);
}

/** metadata for an InfraAssessmentReport: the config audit's labels and TTL, the infra report's name. */
export function infraAssessmentReportMetadata(opts: ConfigAuditReportMetadataOptions): ReportMetadata {
  return auditMetadata(infraAssessmentReportName(opts.owner.kind, opts.owner.name), opts);
}

/** The three audit builders' shared order: owner labels, additional labels, hashes, then identity. */
function auditMetadata(name: string, opts: ConfigAuditReportMetadataOptions): ReportMetadata {
  const labels: Record<string, string> = {};
  appendResourceLabels(labels, opts.resourceLabelsToInclude, opts.owner.labels);
  Object.assign(labels, opts.additionalLabels);
  if (opts.resourceSpecHash) labels[LABEL_RESOURCE_SPEC_HASH] = opts.resourceSpecHash;
  if (opts.pluginConfigHash) labels[LABEL_PLUGIN_CONFIG_HASH] = opts.pluginConfigHash;
  const ttl = opts.owner.namespace ? opts.ttlSeconds : undefined;
  return finish(name, opts.owner, labels, {}, ttl);
}
