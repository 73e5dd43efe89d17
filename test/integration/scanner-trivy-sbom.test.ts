import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTrivyRunner,
  parseImageReport,
  parseSbomReport,
  retargetSbomReport,
  sbomWithoutFindings,
  toImageReportData,
} from '@fleetscan/trivy';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeMatchFilters } from '../support/trivy.ts';

// The SBOM path the scanner relies on, with the real trivy v0.74 and the fixture DB:
// `trivy image` (JSON, all packages) -> `trivy convert --format cyclonedx` -> `trivy sbom`.

const stack = inject('stack');
const nginx = `${stack.registry.host}/library/nginx:1.20`;
const runner = createTrivyRunner({
  bin: stack.trivy.bin,
  cacheDir: stack.trivy.cacheDir,
  timeoutMs: 90_000,
  logger: { debug: () => {}, warn: () => {} },
});
let dir = '';
let imageJson = '';
let sbomFile = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-sbom-'));
  imageJson = (await runner.scanImage(nginx, { scanners: ['vuln'] })).json;
  const reportFile = join(dir, 'image.json');
  await writeFile(reportFile, imageJson);
  const cdx = await runner.convertToCycloneDx(reportFile);
  sbomFile = join(dir, 'sbom.cdx.json');
  await writeFile(sbomFile, sbomWithoutFindings(cdx.json));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trivy sbom on trivy convert output', () => {
  it("reproduces the image scan's OS and findings", async () => {
    const fromImage = toImageReportData(parseImageReport(imageJson), { imageRef: nginx });
    const sbom = retargetSbomReport(parseSbomReport((await runner.scanSbom(sbomFile)).json), nginx);
    const fromSbom = toImageReportData(sbom, { imageRef: nginx });
    expect(fromSbom.os).toEqual({ family: 'debian', name: '11.3', eosl: true });
    expect(fromSbom.vulnerabilities).toEqual(fromImage.vulnerabilities);
    expect(fromSbom.vulnerabilities).toContainEqual(
      expect.objectContaining({ vulnerabilityID: 'CVE-2021-22945', resource: 'curl', severity: 'CRITICAL' }),
    );
    expect(fromSbom.manifestDigest).toBe(fromImage.manifestDigest);
  });

  it('applies severities, ignore-unfixed, an ignore file and an ignore policy', async () => {
    const { ignoreFile, ignorePolicy } = await writeMatchFilters(dir);
    const run = await runner.scanSbom(sbomFile, {
      severities: ['CRITICAL', 'HIGH', 'LOW'],
      ignoreUnfixed: true,
      ignoreFile,
      ignorePolicy,
    });
    const found = toImageReportData(parseSbomReport(run.json)).vulnerabilities.map(
      (v) => `${v.vulnerabilityID}/${v.resource}/${v.severity}`,
    );
    expect(found.sort()).toEqual([
      'CVE-2018-25032/zlib1g/HIGH',
      'CVE-2021-22945/libcurl4/CRITICAL',
      'CVE-2021-3999/libc6/HIGH',
      'CVE-2022-0778/libssl1.1/HIGH',
      'CVE-2022-0778/openssl/HIGH',
    ]);
  });
});
