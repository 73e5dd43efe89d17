import type { ImageScanner } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import {
  canonicalScanSettings,
  type ScanSettings,
  ScanSettingsSchema,
  scanConfigHash,
} from './scan-settings.ts';

/**
 * One value other than "nothing" per setting. Typed against every key of the schema: a setting
 * added to ScanSettingsSchema does not compile here until it has one, and the tests below then
 * check that the canonical form and the hash take it in.
 */
const SAMPLES: Required<ScanSettings> = {
  severities: ['HIGH'],
  ignoreUnfixed: true,
  skipFiles: ['/x'],
  skipDirs: ['/d'],
  ignoreFile: 'CVE-1\n',
  ignoreFileYaml: 'vulnerabilities:\n  - id: CVE-1\n',
  ignorePolicy: 'package trivy',
  reportFields: ['Description'],
};

const hashOf = (scanners: ImageScanner[], s: ScanSettings) =>
  scanConfigHash(canonicalScanSettings(scanners, s));

describe('canonicalScanSettings', () => {
  it.each(Object.keys(ScanSettingsSchema.shape))('takes in %s, on exactly one side, and hashes it', (key) => {
    const value = SAMPLES[key as keyof ScanSettings];
    expect(value, `SAMPLES lacks ${key}`).toBeDefined();
    const c = canonicalScanSettings(['vuln'], { [key]: value });
    expect([key in c.analysis, key in c.match, key in c.report].filter(Boolean)).toHaveLength(1);
    expect(scanConfigHash(c)).not.toBe(hashOf(['vuln'], {}));
  });

  it('puts what trivy reads from the image, match-time filters and report fields on three sides', () => {
    expect(
      canonicalScanSettings(['secret', 'vuln', 'vuln'], {
        severities: ['HIGH', 'CRITICAL', 'HIGH'],
        ignoreUnfixed: true,
        skipFiles: ['/b', '/a'],
        skipDirs: ['/d'],
        ignoreFile: 'CVE-1\n',
        ignoreFileYaml: 'secrets:\n  - id: jwt-token\n',
        ignorePolicy: 'package trivy',
        reportFields: ['Links', 'CVSS', 'Links'],
      }),
    ).toEqual({
      analysis: {
        scanners: ['secret', 'vuln'],
        // The secret scanner looks at the image config too, as trivy-operator's does.
        imageConfigScanners: ['secret'],
        skipFiles: ['/a', '/b'],
        skipDirs: ['/d'],
      },
      match: {
        severities: ['CRITICAL', 'HIGH'],
        ignoreUnfixed: true,
        ignoreFile: 'CVE-1\n',
        ignoreFileYaml: 'secrets:\n  - id: jwt-token\n',
        ignorePolicy: 'package trivy',
      },
      report: { reportFields: ['CVSS', 'Links'] },
    });
  });

  it('leaves out empty values and does not depend on order or duplicates', () => {
    expect(
      canonicalScanSettings(['vuln'], {
        severities: [],
        skipFiles: [],
        ignoreUnfixed: false,
        ignoreFile: '',
        reportFields: [],
      }),
    ).toEqual(canonicalScanSettings(['vuln'], {}));
    expect(hashOf(['secret', 'vuln', 'vuln'], { severities: ['LOW', 'HIGH', 'LOW'] })).toBe(
      hashOf(['vuln', 'secret'], { severities: ['HIGH', 'LOW'] }),
    );
  });
});

describe('scanConfigHash', () => {
  // Values the watcher computed before the canonical form was shared (its own settings.ts): the
  // hash reports carry. Changing them refreshes every report of every cluster at upgrade. Those
  // with the secret scanner did change once, on purpose, when it started to read the image config
  // (their reports lacked those secrets): they were 6c8ff74db5, 79c67c5 and 855d4f6b7b.
  it.each([
    [['vuln'], {}, 'c78bc8497'],
    [['vuln', 'secret'], {}, '5bcc95f787'],
    [['secret', 'vuln'], { severities: ['HIGH', 'CRITICAL'] }, '565bd8d669'],
    [['vuln'], { severities: ['CRITICAL', 'HIGH'], ignoreUnfixed: true }, '8469dc847d'],
    [
      ['vuln', 'secret'],
      {
        severities: ['LOW'],
        ignoreUnfixed: true,
        skipFiles: ['/b', '/a'],
        skipDirs: ['/d'],
        ignoreFile: 'CVE-1\n',
        ignorePolicy: 'package trivy',
      },
      '56ff44bfdd',
    ],
  ] as [ImageScanner[], ScanSettings, string][])('is unchanged for %j %j', (scanners, settings, pinned) => {
    expect(hashOf(scanners, settings)).toBe(pinned);
  });
});
