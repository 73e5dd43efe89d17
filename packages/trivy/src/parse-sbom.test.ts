import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TrivyErrorCode } from './errors.ts';
import { parseImageReport, toImageReportData } from './parse-image.ts';
import { parseSbomReport, retargetSbomReport, sbomWithoutFindings } from './parse-sbom.ts';

// sbom-nginx.cdx.json is `trivy convert --format cyclonedx` of image-nginx.json, and sbom-nginx.json
// is `trivy sbom` of that file with the stack's fixture DB (see testdata/README.md).
const fixture = (name: string) => readFileSync(new URL(`../testdata/${name}`, import.meta.url), 'utf8');

describe('parseSbomReport', () => {
  const image = parseImageReport(fixture('image-nginx.json'));
  const sbom = parseSbomReport(fixture('sbom-nginx.json'));

  it('reads trivy sbom output, which names the SBOM file', () => {
    expect(sbom.ArtifactType).toBe('cyclonedx');
    expect(sbom.ArtifactName).toBe('sbom-nginx.cdx.json');
    expect(sbom.Results?.map((r) => r.Target)).toEqual(['sbom-nginx.cdx.json (debian 11.3)']);
  });

  it("re-matching trivy's own SBOM gives the image scan's OS and findings", () => {
    const ref = image.ArtifactName;
    const fromImage = toImageReportData(image, { imageRef: ref });
    const fromSbom = toImageReportData(retargetSbomReport(sbom, ref), { imageRef: ref });
    expect(fromSbom.os).toEqual({ family: 'debian', name: '11.3', eosl: true });
    expect(fromSbom.os).toEqual(fromImage.os);
    expect(fromSbom.vulnerabilities).toEqual(fromImage.vulnerabilities);
    expect(fromSbom.vulnerabilities).toContainEqual(
      expect.objectContaining({ vulnerabilityID: 'CVE-2021-22945', resource: 'curl', severity: 'CRITICAL' }),
    );
    // The image's manifest digest survives the round trip through CycloneDX.
    expect(fromSbom.manifestDigest).toBe(fromImage.manifestDigest);
  });

  it('rejects an image report (wrong ArtifactType) as PARSE', () => {
    expect(() => parseSbomReport(fixture('image-nginx.json'))).toThrow(
      expect.objectContaining({ code: TrivyErrorCode.Parse }),
    );
  });
});

describe('retargetSbomReport', () => {
  it('renames the file to the image only where a Target starts with it', () => {
    const sbom = parseSbomReport(fixture('sbom-nginx.json'));
    // Inline: a language-package result whose Target is a path inside the image.
    const withApp = { ...sbom, Results: [...(sbom.Results ?? []), { Target: 'app/package-lock.json' }] };
    const out = retargetSbomReport(withApp, 'reg:5000/x:1');
    expect(out.ArtifactName).toBe('reg:5000/x:1');
    expect(out.Results?.map((r) => r.Target)).toEqual([
      'reg:5000/x:1 (debian 11.3)',
      'app/package-lock.json',
    ]);
  });
});

describe('sbomWithoutFindings', () => {
  it("keeps trivy's CycloneDX as is but for the findings of the day", () => {
    const raw = JSON.parse(fixture('sbom-nginx.cdx.json')) as Record<string, unknown>;
    expect((raw.vulnerabilities as unknown[]).length).toBeGreaterThan(0);
    const kept = JSON.parse(sbomWithoutFindings(fixture('sbom-nginx.cdx.json'))) as Record<string, unknown>;
    expect(kept.vulnerabilities).toBeUndefined();
    const { vulnerabilities: _v, ...rest } = raw;
    expect(kept).toEqual(rest);
  });

  it('refuses what is not CycloneDX', () => {
    expect(() => sbomWithoutFindings(fixture('image-nginx.json'))).toThrow(
      expect.objectContaining({ code: TrivyErrorCode.Parse }),
    );
  });
});
