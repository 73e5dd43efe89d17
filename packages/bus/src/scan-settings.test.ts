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
  ignorePolicy: 'package trivy',
};

const hashOf = (scanners: ImageScanner[], s: ScanSettings) =>
  scanConfigHash(canonicalScanSettings(scanners, s));

describe('canonicalScanSettings', () => {
  it.each(Object.keys(ScanSettingsSchema.shape))('takes in %s, on exactly one side, and hashes it', (key) => {
    const value = SAMPLES[key as keyof ScanSettings];
    expect(value, `SAMPLES lacks ${key}`).toBeDefined();
    const c = canonicalScanSettings(['vuln'], { [key]: value });
    expect([key in c.analysis, key in c.match].filter(Boolean)).toHaveLength(1);
    expect(scanConfigHash(c)).not.toBe(hashOf(['vuln'], {}));
  });

  it('puts what trivy reads from the image on one side and match-time filters on the other', () => {
    expect(
      canonicalScanSettings(['secret', 'vuln', 'vuln'], {
        severities: ['HIGH', 'CRITICAL', 'HIGH'],
        ignoreUnfixed: true,
        skipFiles: ['/b', '/a'],
        skipDirs: ['/d'],
        ignoreFile: 'CVE-1\n',
        ignorePolicy: 'package trivy',
      }),
    ).toEqual({
      analysis: { scanners: ['secret', 'vuln'], skipFiles: ['/a', '/b'], skipDirs: ['/d'] },
      match: {
        severities: ['CRITICAL', 'HIGH'],
        ignoreUnfixed: true,
        ignoreFile: 'CVE-1\n',
        ignorePolicy: 'package trivy',
      },
    });
  });

  it('leaves out empty values and does not depend on order or duplicates', () => {
    expect(
      canonicalScanSettings(['vuln'], {
        severities: [],
        skipFiles: [],
        ignoreUnfixed: false,
        ignoreFile: '',
      }),
    ).toEqual(canonicalScanSettings(['vuln'], {}));
    expect(hashOf(['secret', 'vuln', 'vuln'], { severities: ['LOW', 'HIGH', 'LOW'] })).toBe(
      hashOf(['vuln', 'secret'], { severities: ['HIGH', 'LOW'] }),
    );
  });
});

describe('scanConfigHash', () => {
  // Values the watcher computed before the canonical form was shared (its own settings.ts): the
  // hash reports carry. Changing them refreshes every report of every cluster at upgrade.
  it.each([
    [['vuln'], {}, 'c78bc8497'],
    [['vuln', 'secret'], {}, '6c8ff74db5'],
    [['secret', 'vuln'], { severities: ['HIGH', 'CRITICAL'] }, '79c67c5'],
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
      '855d4f6b7b',
    ],
  ] as [ImageScanner[], ScanSettings, string][])('is unchanged for %j %j', (scanners, settings, pinned) => {
    expect(hashOf(scanners, settings)).toBe(pinned);
  });
});
