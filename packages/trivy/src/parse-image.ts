/**
 * trivy's image report (JSON, SchemaVersion 2) -> trivy-operator VulnerabilityReport and
 * ExposedSecretReport data, mapped as trivy-operator v0.32's pkg/plugins/trivy does
 * (ParseReportData, GetVulnerabilitiesFromScanResult, getExposedSecretsFromScanResult,
 * ParseImageRef — reportImageRef in @fleetscan/reports —, parseOSRef, GetScoreFromCVSS). Field
 * names are those of @fleetscan/reports' schemas. updateTimestamp, scanner and summary are the
 * report builder's; which of the additional fields a report shows is too (withVulnerabilityFields).
 */

import {
  type CVSS,
  CVSSSchema,
  type ExposedSecret,
  type OS,
  parseImageRef,
  reportImageRef,
  type Vulnerability,
  type VulnerabilityReportData,
} from '@fleetscan/reports';
import { z } from 'zod';
import { parseJson } from './parse-json.ts';
import { toSecretSeverity, toSeverity } from './severity.ts';
import { rfc3339 } from './time.ts';

// --- trivy's JSON: strict on what the mapping reads, loose (passthrough) everywhere else ----

// trivy-db's types.CVSS, which trivy prints and trivy-operator copies into reports as is.
const CvssSchema = CVSSSchema.loose();

const DetectedVulnerabilitySchema = z.looseObject({
  VulnerabilityID: z.string().min(1),
  PkgName: z.string(),
  PkgID: z.string().optional(),
  PkgPath: z.string().optional(),
  PkgIdentifier: z.looseObject({ PURL: z.string().optional() }).optional(),
  InstalledVersion: z.string(),
  FixedVersion: z.string().optional(),
  Status: z.string().optional(),
  Severity: z.string(),
  SeveritySource: z.string().optional(),
  Title: z.string().optional(),
  Description: z.string().optional(),
  PrimaryURL: z.string().optional(),
  References: z.array(z.string()).optional(),
  PublishedDate: z.string().optional(),
  LastModifiedDate: z.string().optional(),
  CVSS: z.record(z.string(), CvssSchema).optional(),
});

const SecretFindingSchema = z.looseObject({
  RuleID: z.string().min(1),
  Category: z.string(),
  Severity: z.string(),
  Title: z.string(),
  Match: z.string(),
  StartLine: z.number().optional(),
  EndLine: z.number().optional(),
});

const ImageResultSchema = z.looseObject({
  Target: z.string(),
  Class: z.string().optional(),
  Type: z.string().optional(),
  Vulnerabilities: z.array(DetectedVulnerabilitySchema).optional(),
  Secrets: z.array(SecretFindingSchema).optional(),
});

export const TrivyImageReportSchema = z.looseObject({
  SchemaVersion: z.literal(2),
  ArtifactName: z.string().min(1),
  ArtifactType: z.literal('container_image'),
  Metadata: z.looseObject({
    OS: z
      .looseObject({
        Family: z.string(),
        Name: z.string().optional(),
        EOSL: z.boolean().optional(),
      })
      .optional(),
    ImageID: z.string().optional(),
    RepoTags: z.array(z.string()).optional(),
    RepoDigests: z.array(z.string()).optional(),
  }),
  // Omitted by trivy when there is nothing to report.
  Results: z.array(ImageResultSchema).optional(),
});
export type TrivyImageReport = z.infer<typeof TrivyImageReportSchema>;
/** What the mapping reads: an image report's, and equally an SBOM scan's (see parse-sbom.ts). */
export type TrivyReportBody = Pick<TrivyImageReport, 'ArtifactName' | 'Metadata' | 'Results'>;
export type TrivyDetectedVulnerability = z.infer<typeof DetectedVulnerabilitySchema>;
export type TrivyImageResult = z.infer<typeof ImageResultSchema>;

/** Parses `trivy image --format json` output; a mismatch is a PARSE TrivyError. */
export function parseImageReport(json: string): TrivyImageReport {
  return parseJson(json, TrivyImageReportSchema, 'trivy image report');
}

// --- report-ready data, in trivy-operator's field names ------------------------------------

/** What an image scan contributes to its reports: a VulnerabilityReport's data without the builder's parts. */
export type ImageReportData = Pick<
  VulnerabilityReportData,
  'registry' | 'artifact' | 'os' | 'vulnerabilities'
> & {
  secrets: ExposedSecret[];
  /** The manifest digest the registry served (from RepoDigests); the scan cache's key. */
  manifestDigest?: string;
};

export interface ImageReportDataOptions {
  /** The reference that was scanned; defaults to the report's ArtifactName (what trivy was given). */
  imageRef?: string;
}

export function toImageReportData(
  report: TrivyReportBody,
  opts: ImageReportDataOptions = {},
): ImageReportData {
  const imageRef = opts.imageRef ?? report.ArtifactName;
  const ref = reportImageRef(imageRef);
  const results = report.Results ?? [];
  const manifestDigest = repoDigest(report, `${ref.registry.server}/${ref.artifact.repository}`);
  // trivy-operator falls back to Metadata.ImageID (the config digest) for tag references.
  const digest = ref.artifact.digest ?? report.Metadata.ImageID;
  return {
    registry: ref.registry,
    artifact: { ...ref.artifact, ...(digest && { digest }) },
    os: toOS(report),
    vulnerabilities: results.flatMap(toVulnerabilities),
    secrets: results.flatMap(toExposedSecrets),
    ...(manifestDigest !== undefined && { manifestDigest }),
  };
}

export function toOS(report: TrivyReportBody): OS {
  const os = report.Metadata.OS;
  if (!os) return { family: '' };
  return {
    family: os.Family,
    ...(os.Name && { name: os.Name }),
    // Go omitempty: only written when true.
    ...(os.EOSL && { eosl: true }),
  };
}

/**
 * Every field trivy-operator can write, additional ones included: what a report shows of them is
 * the writer's choice (withVulnerabilityFields in @fleetscan/reports), so the stored scan keeps all.
 */
export function toVulnerabilities(result: TrivyImageResult): Vulnerability[] {
  return (result.Vulnerabilities ?? []).map((v) => {
    const score = scoreOf(v);
    const purl = v.PkgIdentifier?.PURL;
    return {
      vulnerabilityID: v.VulnerabilityID,
      resource: v.PkgName,
      installedVersion: v.InstalledVersion,
      fixedVersion: v.FixedVersion ?? '',
      publishedDate: v.PublishedDate ? rfc3339(v.PublishedDate) : '',
      lastModifiedDate: v.LastModifiedDate ? rfc3339(v.LastModifiedDate) : '',
      // trivy's own choice (its SeveritySource's rating), as trivy-operator copies it; not a CVSS band.
      severity: toSeverity(v.Severity),
      title: v.Title ?? '',
      ...(v.Description && { description: v.Description }),
      ...(v.PrimaryURL && { primaryLink: v.PrimaryURL }),
      links: v.References ? [...v.References] : [],
      ...(score !== undefined && { score }),
      target: result.Target,
      ...(v.CVSS && { cvss: cvssOf(v.CVSS) }),
      ...(result.Class && { class: result.Class }),
      ...(result.Type && { packageType: result.Type }),
      ...(v.PkgPath && { packagePath: v.PkgPath }),
      ...(purl && { packagePURL: purl }),
    };
  });
}

export function toExposedSecrets(result: TrivyImageResult): ExposedSecret[] {
  return (result.Secrets ?? []).map((s) => ({
    target: result.Target,
    ruleID: s.RuleID,
    title: s.Title,
    category: s.Category,
    severity: toSecretSeverity(s.Severity),
    match: s.Match,
  }));
}

/**
 * trivy-operator's score (GetScoreFromCVSS over GetCvssV3, pkg/plugins/trivy in v0.32): NVD's
 * CVSS v3 score when it has one (a 0 counts as none), else another vendor's v3 score. Upstream
 * takes that vendor by Go map order, i.e. at random, and may even find none while another vendor
 * has one; here it is the vendor trivy took the severity from, then the first by name that has a
 * score, so the same scan always gives the same report. v2 and v4 scores are not used.
 */
export function scoreOf(v: TrivyDetectedVulnerability): number | undefined {
  const cvss = v.CVSS;
  if (!cvss) return undefined;
  const v3 = (vendor: string | undefined) => {
    const s = vendor === undefined ? undefined : cvss[vendor]?.V3Score;
    return s !== undefined && s !== 0 ? s : undefined;
  };
  const others = Object.keys(cvss)
    .filter((k) => k !== 'nvd')
    .sort();
  return v3('nvd') ?? v3(v.SeveritySource) ?? others.map(v3).find((s) => s !== undefined);
}

function cvssOf(cvss: Record<string, CVSS>): Record<string, CVSS> {
  const out: Record<string, CVSS> = {};
  for (const [vendor, c] of Object.entries(cvss)) {
    const { V2Vector, V3Vector, V40Vector, V2Score, V3Score, V40Score } = c;
    out[vendor] = {
      ...(V2Vector && { V2Vector }),
      ...(V3Vector && { V3Vector }),
      ...(V40Vector && { V40Vector }),
      ...(V2Score !== undefined && { V2Score }),
      ...(V3Score !== undefined && { V3Score }),
      ...(V40Score !== undefined && { V40Score }),
    };
  }
  return out;
}

/** The `sha256:...` of RepoDigests' entry for this repository (`host/repo@sha256:...`). */
function repoDigest(report: TrivyReportBody, repository: string): string | undefined {
  const digests = report.Metadata.RepoDigests ?? [];
  const mine = digests.find((d) => normalise(d.split('@')[0] ?? '') === normalise(repository)) ?? digests[0];
  const at = mine?.indexOf('@') ?? -1;
  return mine && at >= 0 ? mine.slice(at + 1) : undefined;
}

/** RepoDigests spell Docker Hub as `index.docker.io/library/x`, references as `x` or `docker.io/x`. */
function normalise(name: string): string {
  const p = parseImageRef(name);
  return `${p.registry}/${p.repository}`;
}
