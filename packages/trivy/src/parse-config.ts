/**
 * trivy's config report -> ConfigAuditReport checks per manifest file. The scanner writes one
 * manifest per owner into a directory and runs one `trivy config` over it; trivy answers with
 * one Result per file (Target = path relative to that directory).
 *
 * The check mapping follows trivy-operator (pkg/configauditreport/controller/resource.go
 * getCheck and helper.go evaluate): title = Title, description = Description,
 * messages = [Message], remediation = Resolution, category "Kubernetes Security Check",
 * success = PASS. Infra checks (KCV*) are kept: which report they belong to (an
 * InfraAssessmentReport, never a config audit) is decided where the owner is known
 * (@fleetscan/reports partitionInfraChecks).
 */
import type { Check } from '@fleetscan/reports';
import { z } from 'zod';
import { parseJson } from './parse-json.ts';
import { toSeverity } from './severity.ts';

const MisconfigurationSchema = z.looseObject({
  Type: z.string().optional(),
  ID: z.string().min(1),
  Title: z.string().optional(),
  Description: z.string().optional(),
  Message: z.string().optional(),
  Namespace: z.string().optional(),
  Query: z.string().optional(),
  Resolution: z.string().optional(),
  Severity: z.string(),
  PrimaryURL: z.string().optional(),
  References: z.array(z.string()).optional(),
  Status: z.enum(['PASS', 'FAIL', 'EXCEPTION']),
  CauseMetadata: z
    .looseObject({
      Resource: z.string().optional(),
      Provider: z.string().optional(),
      Service: z.string().optional(),
      StartLine: z.number().optional(),
      EndLine: z.number().optional(),
    })
    .optional(),
});

const ConfigResultSchema = z.looseObject({
  Target: z.string(),
  Class: z.string().optional(),
  Type: z.string().optional(),
  MisconfSummary: z
    .looseObject({ Successes: z.number(), Failures: z.number(), Exceptions: z.number().optional() })
    .optional(),
  Misconfigurations: z.array(MisconfigurationSchema).optional(),
});

export const TrivyConfigReportSchema = z.looseObject({
  SchemaVersion: z.literal(2),
  ArtifactName: z.string(),
  ArtifactType: z.string().optional(),
  Results: z.array(ConfigResultSchema).optional(),
});
export type TrivyConfigReport = z.infer<typeof TrivyConfigReportSchema>;
export type TrivyMisconfiguration = z.infer<typeof MisconfigurationSchema>;

/** Parses `trivy config --format json` output; a mismatch is a PARSE TrivyError. */
export function parseConfigReport(json: string): TrivyConfigReport {
  return parseJson(json, TrivyConfigReportSchema, 'trivy config report');
}

export const CHECK_CATEGORY = 'Kubernetes Security Check';

export interface ConfigChecksOptions {
  /**
   * `trivy-operator` (default): the IDs trivy-operator reports, e.g. `KSV003` (its
   * GetResultID takes the check's first alias, the legacy ID). trivy v0.74 itself prints
   * `KSV-0003`; the legacy ID is the last segment of the check's Rego namespace
   * (`builtin.kubernetes.KSV003`). `trivy`: trivy's own ID.
   */
  checkIds?: 'trivy-operator' | 'trivy';
}

/**
 * Checks per file (Target, relative to the audited directory). A file with a Result but no
 * findings maps to []; a file trivy did not recognise as a Kubernetes manifest has no entry,
 * which means "not audited", not "clean".
 */
export function toChecksByFile(
  report: TrivyConfigReport,
  opts: ConfigChecksOptions = {},
): Map<string, Check[]> {
  const byFile = new Map<string, Check[]>();
  for (const result of report.Results ?? []) {
    const checks = byFile.get(result.Target) ?? [];
    for (const m of result.Misconfigurations ?? []) {
      const check = toCheck(m, opts);
      if (check) checks.push(check);
    }
    byFile.set(result.Target, checks);
  }
  return byFile;
}

/** One check, or undefined for what trivy-operator leaves out of config audits. */
export function toCheck(m: TrivyMisconfiguration, opts: ConfigChecksOptions = {}): Check | undefined {
  const id = opts.checkIds === 'trivy' ? m.ID : (legacyId(m) ?? m.ID);
  // An excepted finding was waived on purpose: neither a failure nor a pass to report.
  if (m.Status === 'EXCEPTION') return undefined;
  return {
    checkID: id,
    ...(m.Title && { title: m.Title }),
    ...(m.Description && { description: m.Description }),
    severity: toSeverity(m.Severity),
    category: CHECK_CATEGORY,
    messages: m.Message ? [m.Message] : [],
    ...(m.Resolution && { remediation: m.Resolution }),
    success: m.Status === 'PASS',
  };
}

/** `builtin.kubernetes.KSV003` -> `KSV003`; custom checks (other namespaces) keep their ID. */
function legacyId(m: TrivyMisconfiguration): string | undefined {
  const match = /^builtin\.kubernetes\.([A-Z]+\d+)$/.exec(m.Namespace ?? '');
  return match?.[1];
}
