import { clusterEnv, natsEnv, natsSettings } from '@fleetscan/bus';
import { AUDIT_KIND_NAMES, DEFAULT_AUDIT_KINDS, expandAuditKinds } from '@fleetscan/inventory';
import { kubeEnv, proxyEnvFrom } from '@fleetscan/kube';
import { isQualifiedName, isValidLabelValue, parseGoDuration } from '@fleetscan/reports';
import {
  envBool as bool,
  envVariables,
  envInt as int,
  envList as list,
  opsEnv,
  parseEnv,
} from '@fleetscan/service';
import { z } from 'zod';
import { reportFamilyLabelNames } from './metrics.ts';
import { resourceLabelNames } from './report-metrics/labels.ts';

/** Comma-separated label keys, each a valid Kubernetes label key. */
const labelKeys = z
  .string()
  .default('')
  .transform((s, ctx) => {
    const keys = [
      ...new Set(
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      ),
    ];
    for (const k of keys) {
      if (!isQualifiedName(k)) ctx.addIssue({ code: 'custom', message: `${k} is not a label key` });
    }
    return keys;
  });
/** `key=value,key=value`, as trivy-operator's report.additionalLabels; each a valid label. */
const labelPairs = z
  .string()
  .default('')
  .transform((s, ctx) => {
    const out: Record<string, string> = {};
    for (const pair of s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      const [key = '', value, extra] = pair.split('=');
      if (value === undefined || extra !== undefined) {
        ctx.addIssue({ code: 'custom', message: `${pair} is not key=value` });
      } else if (!isQualifiedName(key.trim()) || !isValidLabelValue(value.trim())) {
        ctx.addIssue({ code: 'custom', message: `${pair} is not a valid label` });
      } else out[key.trim()] = value.trim();
    }
    return out;
  });

/**
 * Every variable the writer reads. Each one's `.describe()` is what `--help` and the README's table
 * say about it (`npm run docs`); its default is the one they show.
 */
const schema = z.object({
  ...clusterEnv,
  // KUBECONFIG and the API server's proxies: packages/kube/src/kube-env.ts.
  ...kubeEnv,
  // NATS_URL, this service's NATS credentials (a file) and TLS: packages/bus/src/nats-config.ts.
  ...natsEnv,
  SUPPORTED_CONFIG_AUDIT_KINDS: list
    .pipe(z.array(z.enum(AUDIT_KIND_NAMES as [string, ...string[]])))
    .default([...DEFAULT_AUDIT_KINDS])
    .describe(
      "the watcher's SUPPORTED_CONFIG_AUDIT_KINDS: the writer watches the same objects, to write their audit reports",
    )
    .meta({ trivyOperator: 'trivy.supportedConfigAuditKinds' }),
  REPORT_TTL: z
    .string()
    .default('24h')
    .transform((s, ctx) => {
      try {
        return parseGoDuration(s);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'a duration such as 24h or 90m' });
        return z.NEVER;
      }
    })
    .describe('report-ttl annotation written on every report, a Go duration such as 24h or 90m')
    .meta({ trivyOperator: 'operator.scannerReportTTL' }),
  SBOM_GENERATION_ENABLED: bool(true)
    .describe(
      "write an SbomReport per owner and container, from the SBOM the scanner stored for the image (no trivy run of its own): true or false; trivy-operator's OPERATOR_SBOM_GENERATION_ENABLED",
    )
    .meta({ trivyOperator: 'OPERATOR_SBOM_GENERATION_ENABLED' }),
  WRITE_CONCURRENCY: int(8, 1).describe(
    'results written at once in each lane (urgent: changes in the cluster; bulk: the backlog at start, refreshes), each up to this many reports at a time',
  ),
  BULK_WRITES_IN_FLIGHT: int(8, 1).describe(
    "API writes the bulk lane (the backlog at start, refreshes) keeps in flight at most, across its results; it starts at one and keeps fewer while the API server answers slower than its usual pace, so new workloads' writes and the control plane's do not queue behind the backlog's",
  ),
  MAX_REPORT_BYTES: int(1_000_000, 10_000).describe(
    'largest report written; past it the most severe findings that fit are kept, with the full summary and fleetscan.io/omitted-findings (an SbomReport keeps its first components that fit, fleetscan.io/omitted-components)',
  ),
  CLUSTER_COMPLIANCE_ENABLED: bool(true).describe(
    "keep the status of this cluster's ClusterComplianceReports current on their spec.cron (trivy-operator's OPERATOR_CLUSTER_COMPLIANCE_ENABLED): true or false",
  ),
  COMPLIANCE_FAIL_ENTRIES_LIMIT: int(10, 1).describe(
    "failed checks kept per control in a ClusterComplianceReport's detail report (reportType all; trivy-operator's compliance.failEntriesLimit)",
  ),
  COMPLIANCE_CHECK_SECONDS: int(30, 1).describe(
    'how often ClusterComplianceReports are read again to see new and changed ones; a status is computed only when its cron fires',
  ),
  CLEANUP_INTERVAL_SECONDS: int(60, 1).describe('how often reports of former owners are swept'),
  FAILED_SCAN_RETRY_SECONDS: int(60, 1).describe(
    "wait before an image whose scan failed is asked for again (no report is written for a failed scan: its owners get a ScanFailed Warning Event); it doubles with each failed round in a row, jittered, up to FAILED_SCAN_RETRY_MAX_SECONDS. The watcher holds requests until then, across restarts (the cluster's fleetscan-scan-failures-<cluster> bucket)",
  ),
  FAILED_SCAN_RETRY_MAX_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(12 * 3600)
    .default(3600)
    .describe(
      'the longest wait between two attempts at an image whose scans keep failing (at most 12 h: a failure record not renewed for 24 h expires)',
    ),
  REPORT_RESOURCE_LABELS: labelKeys
    .describe(
      "owner label keys copied onto every report (when the owner has them) and added to every trivy_* metric as METRICS_RESOURCE_LABELS_PREFIX + the key in snake_case (app.kubernetes.io/name: k8s_label_app_kubernetes_io_name), from the report's labels; e.g. team,app",
    )
    .meta({ trivyOperator: '`report.resourceLabels` (Helm `trivyOperator.reportResourceLabels`)' }),
  METRICS_RESOURCE_LABELS_PREFIX: z
    .string()
    .default('k8s_label_')
    .describe('prefix of the metric labels made from REPORT_RESOURCE_LABELS')
    .meta({
      trivyOperator: '`metrics.resourceLabelsPrefix` (Helm `trivyOperator.metricsResourceLabelsPrefix`)',
    }),
  REPORT_ADDITIONAL_LABELS: labelPairs
    .describe(
      'labels written on every report, key=value separated by commas (e.g. env=prod,team=a); they win over REPORT_RESOURCE_LABELS, and a metric shows one when its key is also in REPORT_RESOURCE_LABELS',
    )
    .meta({ trivyOperator: '`report.additionalLabels` (Helm `trivyOperator.additionalReportLabels`)' }),
  METRICS_HOST: z
    .string()
    .default('127.0.0.1')
    .describe('address of /metrics (with the trivy_* report metrics), /healthz and /readyz'),
  METRICS_PORT: opsEnv.METRICS_PORT,
  METRICS_FINDINGS_ENABLED: bool(true)
    .describe(
      "serve trivy-operator's report metrics (trivy_image_vulnerabilities, trivy_image_exposedsecrets, trivy_resource_configaudits, trivy_role_rbacassessments, trivy_clusterrole_clusterrbacassessments, trivy_resource_infraassessments and the info ones turned on below): true or false",
    )
    .meta({ trivyOperator: '`OPERATOR_METRICS_FINDINGS_ENABLED` (Helm `operator.metricsFindingsEnabled`)' }),
  METRICS_VULN_ID_ENABLED: bool(false)
    .describe(
      'serve trivy_vulnerability_id: a series per vulnerability of every VulnerabilityReport (cardinality grows with the findings; see METRICS_INFO_MAX_SERIES): true or false',
    )
    .meta({ trivyOperator: '`OPERATOR_METRICS_VULN_ID_ENABLED` (Helm `operator.metricsVulnIdEnabled`)' }),
  METRICS_EXPOSED_SECRET_INFO_ENABLED: bool(false)
    .describe(
      'serve trivy_exposedsecrets_info: a series per secret of every ExposedSecretReport: true or false',
    )
    .meta({
      trivyOperator:
        '`OPERATOR_METRICS_EXPOSED_SECRET_INFO_ENABLED` (Helm `operator.metricsExposedSecretInfo`)',
    }),
  METRICS_CONFIG_AUDIT_INFO_ENABLED: bool(false)
    .describe('serve trivy_configaudits_info: a series per check of every ConfigAuditReport: true or false')
    .meta({
      trivyOperator: '`OPERATOR_METRICS_CONFIG_AUDIT_INFO_ENABLED` (Helm `operator.metricsConfigAuditInfo`)',
    }),
  METRICS_RBAC_ASSESSMENT_INFO_ENABLED: bool(false)
    .describe(
      'serve trivy_rbacassessments_info: a series per check of every RbacAssessmentReport (Roles; not ClusterRoles, as upstream): true or false',
    )
    .meta({
      trivyOperator:
        '`OPERATOR_METRICS_RBAC_ASSESSMENT_INFO_ENABLED` (Helm `operator.metricsRbacAssessmentInfo`)',
    }),
  METRICS_INFRA_ASSESSMENT_INFO_ENABLED: bool(false)
    .describe(
      'serve trivy_infraassessments_info: a series per check of every InfraAssessmentReport: true or false',
    )
    .meta({
      trivyOperator:
        '`OPERATOR_METRICS_INFRA_ASSESSMENT_INFO_ENABLED` (Helm `operator.metricsInfraAssessmentInfo`)',
    }),
  METRICS_IMAGE_INFO_ENABLED: bool(false)
    .describe('serve trivy_image_info: the OS of the image of every VulnerabilityReport: true or false')
    .meta({ trivyOperator: '`OPERATOR_METRICS_IMAGE_INFO_ENABLED` (Helm `operator.metricsImageInfo`)' }),
  METRICS_CLUSTER_COMPLIANCE_INFO_ENABLED: bool(false)
    .describe(
      'serve trivy_compliance_info: a series per control of every summary-format ClusterComplianceReport (its fail count, or 1 when it passes): true or false',
    )
    .meta({
      trivyOperator:
        '`OPERATOR_METRICS_CLUSTER_COMPLIANCE_INFO_ENABLED` (Helm `operator.metricsClusterComplianceInfo`)',
    }),
  METRICS_INFO_MAX_SERIES: int(100_000, 1).describe(
    'most series each info family serves per scrape; past it the rest are left out and fleetscan_writer_report_metric_series_dropped says how many (trivy-operator has no bound)',
  ),
  LOG_LEVEL: opsEnv.LOG_LEVEL,
});

/** What --help and the README say about each variable. */
export function configVariables() {
  return envVariables(schema);
}

export type WriterConfig = ReturnType<typeof loadConfig>;

const checkedSchema = schema.superRefine((c, ctx) => {
  const { problems } = resourceLabelNames(
    c.METRICS_RESOURCE_LABELS_PREFIX,
    c.REPORT_RESOURCE_LABELS,
    reportFamilyLabelNames(),
  );
  for (const message of problems) {
    ctx.addIssue({ code: 'custom', path: ['REPORT_RESOURCE_LABELS'], message });
  }
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(checkedSchema, env);
  const labelNames = resourceLabelNames(
    c.METRICS_RESOURCE_LABELS_PREFIX,
    c.REPORT_RESOURCE_LABELS,
    new Set(),
  ).names;
  return {
    cluster: c.CLUSTER_NAME,
    kubeconfigPath: c.KUBECONFIG,
    // HTTPS_PROXY, HTTP_PROXY, NO_PROXY (or lower case) for the API server, as client-go reads them.
    kubeProxy: proxyEnvFrom(env),
    nats: natsSettings(c),
    /** Kinds the inventory watches besides workloads: the audited ones. */
    resourceKinds: expandAuditKinds(c.SUPPORTED_CONFIG_AUDIT_KINDS).resources,
    reportTtlSeconds: c.REPORT_TTL,
    sbomReports: c.SBOM_GENERATION_ENABLED,
    writeConcurrency: c.WRITE_CONCURRENCY,
    bulkWritesInFlight: c.BULK_WRITES_IN_FLIGHT,
    maxReportBytes: c.MAX_REPORT_BYTES,
    cleanupIntervalMs: c.CLEANUP_INTERVAL_SECONDS * 1000,
    failedScanRetry: {
      baseMs: c.FAILED_SCAN_RETRY_SECONDS * 1000,
      maxMs: Math.max(c.FAILED_SCAN_RETRY_SECONDS, c.FAILED_SCAN_RETRY_MAX_SECONDS) * 1000,
    },
    reportLabels: { resourceLabels: c.REPORT_RESOURCE_LABELS, additionalLabels: c.REPORT_ADDITIONAL_LABELS },
    compliance: {
      enabled: c.CLUSTER_COMPLIANCE_ENABLED,
      failEntriesLimit: c.COMPLIANCE_FAIL_ENTRIES_LIMIT,
      metrics: {
        info: c.METRICS_CLUSTER_COMPLIANCE_INFO_ENABLED,
        labelKeys: c.REPORT_RESOURCE_LABELS,
        labelNames,
      },
      checkIntervalMs: c.COMPLIANCE_CHECK_SECONDS * 1000,
    },
    metrics: { host: c.METRICS_HOST, port: c.METRICS_PORT },
    reportMetrics: {
      enabled: c.METRICS_FINDINGS_ENABLED,
      info: {
        vulnerabilityId: c.METRICS_VULN_ID_ENABLED,
        exposedSecretInfo: c.METRICS_EXPOSED_SECRET_INFO_ENABLED,
        configAuditInfo: c.METRICS_CONFIG_AUDIT_INFO_ENABLED,
        imageInfo: c.METRICS_IMAGE_INFO_ENABLED,
        rbacAssessmentInfo: c.METRICS_RBAC_ASSESSMENT_INFO_ENABLED,
        infraAssessmentInfo: c.METRICS_INFRA_ASSESSMENT_INFO_ENABLED,
      },
      labelKeys: c.REPORT_RESOURCE_LABELS,
      labelNames,
      maxInfoSeries: c.METRICS_INFO_MAX_SERIES,
    },
    logLevel: c.LOG_LEVEL,
  };
}
