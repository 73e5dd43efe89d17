/**
 * `trivy config --format json` -> ConfigAuditReport checks per manifest file: trivy answers a
 * run over a directory with one Result per file (Target = path relative to that directory).
 * The scanner audits with the audit worker (auditor.ts); the CLI's output is what the parity
 * tests compare it with. The check mapping is config-checks.ts.
 */
import type { Check } from '@fleetscan/reports';
import { z } from 'zod';
import { type ConfigCheckOptions, type ConfigFinding, toConfigChecks } from './config-checks.ts';
import { parseJson } from './parse-json.ts';

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

/** A misconfiguration as trivy's JSON prints it, in the terms of config-checks.ts. */
export function toConfigFinding(m: TrivyMisconfiguration): ConfigFinding {
  return {
    id: m.ID,
    title: m.Title,
    description: m.Description,
    message: m.Message,
    resolution: m.Resolution,
    severity: m.Severity,
    status: m.Status,
  };
}

/**
 * Checks per file (Target, relative to the audited directory). A file with a Result but no
 * findings maps to []; a file trivy did not recognise as a Kubernetes manifest has no entry,
 * which means "not audited", not "clean". trivy's JSON has no aliases, so the `trivy-operator`
 * ID format falls back to trivy's ID here; the audit worker's findings carry them.
 */
export function toChecksByFile(
  report: TrivyConfigReport,
  opts: ConfigCheckOptions = {},
): Map<string, Check[]> {
  const byFile = new Map<string, Check[]>();
  for (const result of report.Results ?? []) {
    const checks = byFile.get(result.Target) ?? [];
    checks.push(...toConfigChecks((result.Misconfigurations ?? []).map(toConfigFinding), opts));
    byFile.set(result.Target, checks);
  }
  return byFile;
}
