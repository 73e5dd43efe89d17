/**
 * The SBOM side of image scanning: trivy's CycloneDX (from `trivy convert`) is stored per image
 * digest, and `trivy sbom` on it reports what `trivy image` would with the DB of the day. Its
 * report is an image report except that ArtifactName/ArtifactType name the SBOM file, and each
 * Target starts with that file name instead of the image reference.
 */
import { z } from 'zod';
import { TrivyError, TrivyErrorCode } from './errors.ts';
import { TrivyImageReportSchema } from './parse-image.ts';
import { parseJson } from './parse-json.ts';

export const TrivySbomReportSchema = TrivyImageReportSchema.extend({
  ArtifactType: z.literal('cyclonedx'),
});
export type TrivySbomReport = z.infer<typeof TrivySbomReportSchema>;

/** Parses `trivy sbom --format json` output; a mismatch is a PARSE TrivyError. */
export function parseSbomReport(json: string): TrivySbomReport {
  return parseJson(json, TrivySbomReportSchema, 'trivy sbom report');
}

/**
 * Names the image again where trivy named the SBOM file: ArtifactName, and the Targets that
 * start with it (`<file> (debian 11.3)` becomes `<image> (debian 11.3)`, as `trivy image` says).
 */
export function retargetSbomReport(report: TrivySbomReport, imageRef: string): TrivySbomReport {
  const file = report.ArtifactName;
  const retarget = (t: string) =>
    t === file || t.startsWith(`${file} `) ? imageRef + t.slice(file.length) : t;
  return {
    ...report,
    ArtifactName: imageRef,
    ...(report.Results && { Results: report.Results.map((r) => ({ ...r, Target: retarget(r.Target) })) }),
  };
}

const CycloneDxSchema = z.looseObject({
  bomFormat: z.literal('CycloneDX'),
  specVersion: z.string(),
  components: z.array(z.unknown()).optional(),
});

/**
 * The SBOM to keep from `trivy convert` output: the same document without its `vulnerabilities`
 * (the findings of the day it was made; `trivy sbom` ignores them and a stored SBOM should not
 * carry stale ones). Throws a PARSE TrivyError if it is not CycloneDX JSON.
 */
export function sbomWithoutFindings(cycloneDxJson: string): string {
  const doc = parseJson(cycloneDxJson, CycloneDxSchema, 'trivy convert (CycloneDX)');
  if (!doc.metadata) throw new TrivyError(TrivyErrorCode.Parse, 'trivy convert (CycloneDX): no metadata');
  const { vulnerabilities: _stale, ...rest } = doc;
  return JSON.stringify(rest);
}
