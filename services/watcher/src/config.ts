import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CHECK_ID_FORMATS,
  checkIgnoreYaml,
  clusterEnv,
  natsEnv,
  natsSettings,
  type ScanSettings,
  ScanSettingsSchema,
} from '@fleetscan/bus';
import {
  AUDIT_KIND_NAMES,
  DEFAULT_AUDIT_KINDS,
  expandAuditKinds,
  OWNER_KINDS,
  RESOURCE_KINDS,
  type ResourceKind,
} from '@fleetscan/inventory';
import { kubeEnv, proxyEnvFrom } from '@fleetscan/kube';
import {
  AdditionalVulnerabilityFieldSchema,
  ImageScannerSchema,
  isRbacKind,
  SEVERITIES,
} from '@fleetscan/reports';
import {
  envBool as bool,
  ConfigError,
  envVariables,
  envInt as int,
  envList as list,
  opsEnv,
  parseEnv,
} from '@fleetscan/service';
import { z } from 'zod';
import { IGNORE_POLICY_KEY, type IgnorePolicies, ignorePoliciesFrom } from './ignore-policies.ts';

/** A path whose contents are read once at start; errors name the variable. */
const fileContents = z
  .string()
  .optional()
  .transform((p, ctx) => {
    if (!p) return undefined;
    try {
      return readFileSync(p, 'utf8');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `cannot read ${p}: ${(err as Error).message}` });
      return z.NEVER;
    }
  });

/**
 * An ignore file's contents, in the format its name says, as trivy decides: `.yaml`/`.yml` is
 * trivy's `.trivyignore.yaml` (checked here, so a broken one fails at start, not every scan).
 */
const ignoreFile = z
  .string()
  .optional()
  .transform((p, ctx): { ignoreFile?: string; ignoreFileYaml?: string } => {
    if (!p) return {};
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `cannot read ${p}: ${(err as Error).message}` });
      return z.NEVER;
    }
    if (!/\.ya?ml$/.test(p)) return { ignoreFile: text };
    try {
      checkIgnoreYaml(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `${p}: ${(err as Error).message}` });
      return z.NEVER;
    }
    return { ignoreFileYaml: text };
  });

/** A directory's files (a ConfigMap mounted as a volume), by name; Kubernetes' own `..` entries left out. */
const directoryFiles = z
  .string()
  .optional()
  .transform((dir, ctx) => {
    if (!dir) return {};
    try {
      const files: Record<string, string> = {};
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.name.startsWith('.') || !(e.isFile() || e.isSymbolicLink())) continue;
        files[e.name] = readFileSync(join(dir, e.name), 'utf8');
      }
      return files;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `cannot read ${dir}: ${(err as Error).message}` });
      return z.NEVER;
    }
  });

/**
 * Every variable the watcher reads. Each one's `.describe()` is what `--help` and the README's table
 * say about it (`npm run docs`); its default is the one they show.
 */
const schema = z.object({
  ...clusterEnv,
  // KUBECONFIG and the API server's proxies: packages/kube/src/kube-env.ts.
  ...kubeEnv,
  // NATS_URL, this service's NATS credentials (a file) and TLS: packages/bus/src/nats-config.ts.
  ...natsEnv,
  SCANNER_PUBLIC_KEY_FILE: fileContents.describe(
    "the scanner fleet's RSA public key (PEM): registry credentials from pull secrets are sealed with it (see docs/ARCHITECTURE.md); unset: images are scanned without them",
  ),
  NAMESPACES_INCLUDE: list
    .describe('namespace globs (*, ?) to scan; empty: all')
    .meta({ trivyOperator: 'targetNamespaces' }),
  NAMESPACES_EXCLUDE: list
    .describe('namespace globs never scanned')
    .meta({ trivyOperator: 'excludeNamespaces' }),
  TARGET_KINDS: list
    .pipe(z.array(z.enum(OWNER_KINDS as [string, ...string[]])))
    .default([...OWNER_KINDS])
    .describe('workload kinds to report on (their images and, when audited, their configuration); empty: all')
    .meta({ trivyOperator: 'targetWorkloads' }),
  SUPPORTED_CONFIG_AUDIT_KINDS: list
    .pipe(z.array(z.enum(AUDIT_KIND_NAMES as [string, ...string[]])))
    .default([...DEFAULT_AUDIT_KINDS])
    .describe(
      `kinds whose objects get a config audit: Workload (every workload kind), a workload kind, or ${RESOURCE_KINDS.join(', ')}; Roles and ClusterRoles get RBAC assessments, cluster-scoped kinds Cluster reports; empty: none`,
    )
    .meta({ trivyOperator: 'trivy.supportedConfigAuditKinds' }),
  RBAC_ASSESSMENT_SCANNER_ENABLED: bool(true)
    .describe(
      'RbacAssessmentReports for Roles and ClusterRbacAssessmentReports for ClusterRoles listed in SUPPORTED_CONFIG_AUDIT_KINDS: true or false',
    )
    .meta({ trivyOperator: 'operator.rbacAssessmentScannerEnabled' }),
  INFRA_ASSESSMENT_SCANNER_ENABLED: bool(true)
    .describe(
      'InfraAssessmentReports for control-plane components running as pods in kube-system: true or false',
    )
    .meta({ trivyOperator: 'operator.infraAssessmentScannerEnabled' }),
  SKIP_LABELS: list
    .describe('key or key=value: objects carrying one of these labels are skipped')
    .meta({ trivyOperator: 'trivyOperator.skipResourceByLabels' }),
  EXCLUDE_IMAGES: list
    .describe('image globs never scanned, matched against the image as written in the pod spec')
    .meta({ trivyOperator: 'trivyOperator.excludeImages' }),
  SCAN_INIT_CONTAINERS: bool(true)
    .describe('scan init containers: true or false')
    .meta({ trivyOperator: 'trivyOperator.skipInitContainers (inverted)' }),
  SCAN_EPHEMERAL_CONTAINERS: bool(true).describe('scan ephemeral containers: true or false'),
  SCANNERS: list
    .pipe(z.array(ImageScannerSchema).min(1))
    .default(['vuln', 'secret'])
    .describe(
      'image scanners: vuln (VulnerabilityReports) and secret (ExposedSecretReports, from the layers and the image config)',
    )
    .meta({ trivyOperator: 'operator.vulnerabilityScannerEnabled, operator.exposedSecretScannerEnabled' }),
  SEVERITIES: list
    .pipe(z.array(z.enum(SEVERITIES)))
    .describe(
      `severities reported, of ${SEVERITIES.join(',')}, in vulnerability and config audit reports; empty: all`,
    )
    .meta({ trivyOperator: 'trivy.severity' }),
  IGNORE_UNFIXED: bool(false)
    .describe('leave out vulnerabilities without a fix: true or false')
    .meta({ trivyOperator: 'trivy.ignoreUnfixed' }),
  SKIP_FILES: list.describe("trivy's --skip-files").meta({ trivyOperator: 'trivy.skipFiles' }),
  SKIP_DIRS: list.describe("trivy's --skip-dirs").meta({ trivyOperator: 'trivy.skipDirs' }),
  IGNORE_FILE: ignoreFile
    .describe(
      "path of an ignore file sent with each request: a .trivyignore (IDs, one per line), or trivy's YAML format when the name ends in .yaml or .yml",
    )
    .meta({ trivyOperator: 'trivy.ignoreFile' }),
  IGNORE_POLICY: fileContents
    .describe('path of a Rego ignore policy for the workloads no IGNORE_POLICY_DIR key names')
    .meta({ trivyOperator: 'trivy.ignorePolicy' }),
  IGNORE_POLICY_DIR: directoryFiles
    .describe(
      "directory of Rego ignore policies named as trivy-operator's keys: trivy.ignorePolicy, trivy.ignorePolicy.<namespace>, trivy.ignorePolicy.<namespace>.<workload> (globs; the most specific applies); other files are ignored, so trivy-operator's trivy ConfigMap can be mounted as is",
    )
    .meta({ trivyOperator: 'trivy.ignorePolicy.<namespace>[.<workload>]' }),
  ADDITIONAL_VULNERABILITY_REPORT_FIELDS: list
    .pipe(z.array(AdditionalVulnerabilityFieldSchema))
    .describe(
      'extra fields VulnerabilityReports show, of Description,Links,CVSS,Target,Class,PackageType,PackagePath; empty: none (a change rewrites the reports without a rescan)',
    )
    .meta({ trivyOperator: 'trivy.additionalVulnerabilityReportFields' }),
  CONFIG_CHECK_IDS: z
    .enum(CHECK_ID_FORMATS)
    .default('short')
    .describe(
      "how ConfigAuditReports name checks: short (KSV003, KSV110) or trivy-operator (AVD-KSV-0003: the check's first alias, as trivy-operator v0.32 writes); a change refreshes every ConfigAuditReport",
    ),
  RESYNC_SECONDS: int(300, 1).describe('re-check every owner this often'),
  REQUEST_RETRY_SECONDS: int(600, 1).describe('ask again when a request got no report within this time'),
  REFRESH_BATCH_SIZE: int(100, 1).describe(
    'refreshes of existing reports (new settings, a new trivy DB, an expired TTL) sent per interval',
  ),
  REFRESH_INTERVAL_SECONDS: z.coerce
    .number()
    .positive()
    .default(10)
    .describe('the interval of REFRESH_BATCH_SIZE'),
  TAG_RECHECK_SECONDS: int(3600, 0).describe(
    'resolve tags again this often, to notice re-pushed (mutable) tags; 0: never',
  ),
  ...opsEnv,
});

/** What --help and the README say about each variable, grouped. */
export function configVariables() {
  return envVariables(schema, {
    NAMESPACES_INCLUDE: 'What is scanned',
    SCANNERS: 'How (the scan settings: a change refreshes exactly the reports it affects)',
    RESYNC_SECONDS: 'When',
    METRICS_HOST: 'Operations',
  });
}

export type WatcherConfig = ReturnType<typeof loadConfig>;

const SETTING_VARIABLES: Record<string, string> = {
  severities: 'SEVERITIES',
  skipFiles: 'SKIP_FILES',
  skipDirs: 'SKIP_DIRS',
  ignoreFile: 'IGNORE_FILE',
  ignoreFileYaml: 'IGNORE_FILE',
  ignorePolicy: 'IGNORE_POLICY',
  reportFields: 'ADDITIONAL_VULNERABILITY_REPORT_FIELDS',
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = parseEnv(schema, env);
  const settings: ScanSettings = {
    ...(c.SEVERITIES.length ? { severities: c.SEVERITIES } : {}),
    ...(c.IGNORE_UNFIXED ? { ignoreUnfixed: true } : {}),
    ...(c.SKIP_FILES.length ? { skipFiles: c.SKIP_FILES } : {}),
    ...(c.SKIP_DIRS.length ? { skipDirs: c.SKIP_DIRS } : {}),
    ...c.IGNORE_FILE,
    ...(c.IGNORE_POLICY !== undefined ? { ignorePolicy: c.IGNORE_POLICY } : {}),
    ...(c.ADDITIONAL_VULNERABILITY_REPORT_FIELDS.length
      ? { reportFields: c.ADDITIONAL_VULNERABILITY_REPORT_FIELDS }
      : {}),
  };
  const ignorePolicies = readIgnorePolicies(c.IGNORE_POLICY_DIR, c.IGNORE_POLICY !== undefined);
  // Settings travel in every image request: past the message limits no request could be sent.
  const issues = [settings, ...ignorePolicies.keys.map((k) => ({ ...settings, ignorePolicy: k.policy }))]
    .map((s) => ScanSettingsSchema.safeParse(s))
    .flatMap((r, i) =>
      (r.error?.issues ?? []).map((issue) => ({
        variable:
          i > 0 ? 'IGNORE_POLICY_DIR' : (SETTING_VARIABLES[String(issue.path[0])] ?? String(issue.path[0])),
        message: i > 0 ? `${ignorePolicies.keys[i - 1]?.key}: ${issue.message}` : issue.message,
      })),
    );
  if (issues.length > 0) throw new ConfigError(issues);
  // trivy-operator's trivy.severity filters config audit checks as it filters vulnerabilities.
  const configAudit = {
    checkIds: c.CONFIG_CHECK_IDS,
    ...(c.SEVERITIES.length ? { severities: c.SEVERITIES } : {}),
  };
  const workloadKinds = c.TARGET_KINDS.length ? c.TARGET_KINDS : [...OWNER_KINDS];
  const audit = expandAuditKinds(c.SUPPORTED_CONFIG_AUDIT_KINDS);
  // trivy-operator's rbacDisabled: with RBAC assessment off, Roles and ClusterRoles get no report at all.
  const resourceKinds: ResourceKind[] = audit.resources.filter(
    (k) => c.RBAC_ASSESSMENT_SCANNER_ENABLED || !isRbacKind(k),
  );
  return {
    cluster: c.CLUSTER_NAME,
    kubeconfigPath: c.KUBECONFIG,
    // HTTPS_PROXY, HTTP_PROXY, NO_PROXY (or lower case) for the API server, as client-go reads them.
    kubeProxy: proxyEnvFrom(env),
    nats: natsSettings(c),
    scanners: c.SCANNERS,
    settings,
    configAudit,
    ignorePolicies,
    /** Kinds the inventory watches besides workloads: the audited ones. */
    resourceKinds,
    scope: {
      namespacesInclude: c.NAMESPACES_INCLUDE,
      namespacesExclude: c.NAMESPACES_EXCLUDE,
      kinds: [...workloadKinds, ...resourceKinds],
      auditKinds: [...audit.workloads.filter((k) => workloadKinds.includes(k)), ...resourceKinds],
      infra: c.INFRA_ASSESSMENT_SCANNER_ENABLED,
      skipLabels: c.SKIP_LABELS,
      excludeImages: c.EXCLUDE_IMAGES,
      initContainers: c.SCAN_INIT_CONTAINERS,
      ephemeralContainers: c.SCAN_EPHEMERAL_CONTAINERS,
    },
    scannerPublicKey: c.SCANNER_PUBLIC_KEY_FILE,
    resyncMs: c.RESYNC_SECONDS * 1000,
    retryAfterMs: c.REQUEST_RETRY_SECONDS * 1000,
    refresh: { batchSize: c.REFRESH_BATCH_SIZE, intervalMs: c.REFRESH_INTERVAL_SECONDS * 1000 },
    tagRecheckMs: c.TAG_RECHECK_SECONDS * 1000,
    metrics: { host: c.METRICS_HOST, port: c.METRICS_PORT },
    logLevel: c.LOG_LEVEL,
  };
}

function readIgnorePolicies(files: Record<string, string>, globalFromFile: boolean): IgnorePolicies {
  const fail = (message: string): never => {
    throw new ConfigError([{ variable: 'IGNORE_POLICY_DIR', message }]);
  };
  if (globalFromFile && IGNORE_POLICY_KEY in files) {
    fail(`holds ${IGNORE_POLICY_KEY}, and IGNORE_POLICY is set too: give the global policy once`);
  }
  try {
    return ignorePoliciesFrom(files);
  } catch (err) {
    return fail((err as Error).message);
  }
}
