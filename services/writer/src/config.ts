import { CLUSTER_NAME_PATTERN, natsEnv, natsSettings } from '@fleetscan/bus';
import { AUDIT_KIND_NAMES, DEFAULT_AUDIT_KINDS, expandAuditKinds } from '@fleetscan/inventory';
import { proxyEnvFrom } from '@fleetscan/kube';
import { parseGoDuration } from '@fleetscan/reports';
import { envVariables, parseEnv } from '@fleetscan/service';
import { z } from 'zod';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
const list = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );

/**
 * Every variable the writer reads. Each one's `.describe()` is what `--help` and the README's table
 * say about it (`npm run docs`); its default is the one they show.
 */
const schema = z.object({
  CLUSTER_NAME: z
    .string()
    .regex(CLUSTER_NAME_PATTERN, 'lowercase letters, digits and "-", at most 63 characters')
    .describe("this cluster's name in subjects: lowercase letters, digits and '-', at most 63 characters"),
  KUBECONFIG: z
    .string()
    .optional()
    .describe(
      'kubeconfig file, or files separated by ":" merged as kubectl does; unset: the in-cluster service account, then ~/.kube/config',
    ),
  // Read by proxyEnvFrom as client-go reads them (the lower-case names too); listed here for the docs.
  HTTPS_PROXY: z
    .string()
    .optional()
    .describe(
      "proxy for an https:// API server (or https_proxy), as kubectl uses it: not for NO_PROXY hosts, localhost or loopback; a kubeconfig cluster's proxy-url wins",
    ),
  HTTP_PROXY: z.string().optional().describe('proxy for an http:// API server (or http_proxy)'),
  NO_PROXY: z
    .string()
    .optional()
    .describe(
      'hosts reached without the proxy (or no_proxy), as Go reads it: names, .domains, IPs, CIDRs, ports, *',
    ),
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
  WRITE_CONCURRENCY: int(8, 1).describe(
    'results written at once in each lane (urgent: changes in the cluster; bulk: the backlog at start, refreshes)',
  ),
  MAX_REPORT_BYTES: int(1_000_000, 10_000).describe(
    'largest report written; past it the most severe findings that fit are kept, with the full summary and fleetscan.io/omitted-findings',
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
  METRICS_HOST: z
    .string()
    .default('127.0.0.1')
    .describe(
      'address of /metrics (with trivy_image_vulnerabilities and trivy_resource_configaudits), /healthz and /readyz',
    ),
  METRICS_PORT: int(8080).describe('port of /metrics, /healthz and /readyz'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
    .default('info')
    .describe('fatal, error, warn, info, debug or trace'),
});

/** What --help and the README say about each variable. */
export function configVariables() {
  return envVariables(schema);
}

export type WriterConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(schema, env);
  return {
    cluster: c.CLUSTER_NAME,
    kubeconfigPath: c.KUBECONFIG,
    // HTTPS_PROXY, HTTP_PROXY, NO_PROXY (or lower case) for the API server, as client-go reads them.
    kubeProxy: proxyEnvFrom(env),
    nats: natsSettings(c),
    /** Kinds the inventory watches besides workloads: the audited ones. */
    resourceKinds: expandAuditKinds(c.SUPPORTED_CONFIG_AUDIT_KINDS).resources,
    reportTtlSeconds: c.REPORT_TTL,
    writeConcurrency: c.WRITE_CONCURRENCY,
    maxReportBytes: c.MAX_REPORT_BYTES,
    cleanupIntervalMs: c.CLEANUP_INTERVAL_SECONDS * 1000,
    compliance: {
      enabled: c.CLUSTER_COMPLIANCE_ENABLED,
      failEntriesLimit: c.COMPLIANCE_FAIL_ENTRIES_LIMIT,
      checkIntervalMs: c.COMPLIANCE_CHECK_SECONDS * 1000,
    },
    metrics: { host: c.METRICS_HOST, port: c.METRICS_PORT },
    logLevel: c.LOG_LEVEL,
  };
}
