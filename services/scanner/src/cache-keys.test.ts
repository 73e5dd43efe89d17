import { canonicalScanSettings, type ScanSettings, ScanSettingsSchema } from '@fleetscan/bus';
import type { ImageScanner } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import {
  analysisHash,
  analysisLockKey,
  hasMatchSettings,
  imageCacheKey,
  isStale,
  sbomKey,
  settingsHash,
} from './cache-keys.ts';

const D = `sha256:${'ab'.repeat(32)}`;

/** Typed against every key of the schema, so a new setting does not compile here until it has a value. */
const SAMPLES: Required<ScanSettings> = {
  severities: ['HIGH'],
  ignoreUnfixed: true,
  skipFiles: ['/x'],
  skipDirs: ['/d'],
  ignoreFile: 'CVE-2021-22945',
  ignoreFileYaml: 'vulnerabilities:\n  - id: CVE-2021-22945\n',
  ignorePolicy: 'package trivy',
  reportFields: ['CVSS'],
};

const h = (s: ScanSettings, scanners: ImageScanner[] = ['vuln', 'secret']) => {
  const x = canonicalScanSettings(scanners, s);
  return { a: analysisHash(x.analysis), s: settingsHash(x.analysis, x.match) };
};

describe('hashes', () => {
  it.each(Object.keys(ScanSettingsSchema.shape))(
    '%s changes the result hash unless it only changes the reports, and the analysis hash iff trivy reads it from the image',
    (key) => {
      const value = SAMPLES[key as keyof ScanSettings];
      expect(value, `SAMPLES lacks ${key}`).toBeDefined();
      const settings = { [key]: value };
      const c = canonicalScanSettings(['vuln'], settings);
      expect(h(settings).s !== h({}).s).toBe(!(key in c.report));
      expect(h(settings).a !== h({}).a).toBe(key in c.analysis);
    },
  );

  it('the scanners are analysis settings', () => {
    expect(h({}, ['vuln']).a).not.toBe(h({}).a);
    expect(h({}, ['vuln']).s).not.toBe(h({}).s);
  });

  it('does not depend on order or duplicates', () => {
    expect(h({ severities: ['LOW', 'HIGH'] }, ['secret', 'vuln'])).toEqual(
      h({ severities: ['HIGH', 'LOW', 'HIGH'] }),
    );
    expect(h({}).a).toMatch(/^[0-9a-f]{20}$/);
  });

  // Keys of entries already in the object store: other values make every cached analysis and
  // result a miss (a pull and analysis of every image of the fleet). Changed on purpose once:
  // results for RESULT_FORMAT 2 (were 3acc4e9c…, 0e210f9a…, 238a9059…, bfec9619…, 1f4ec383…), and
  // analyses with the secret scanner, which now reads the image config (were 0daf4447…, 173d2d5f…).
  it.each([
    [['vuln'], {}, 'e1c08587b542c96724ab', '1f615dfb1c4b78f474d7'],
    [['vuln', 'secret'], {}, 'b3485e41ee35e5ac1ee5', '3f2d7ed251a421e87a1b'],
    [
      ['secret', 'vuln'],
      { severities: ['HIGH', 'CRITICAL'] },
      'b3485e41ee35e5ac1ee5',
      'b1c3b336d7886b87197a',
    ],
    [
      ['vuln'],
      { severities: ['CRITICAL', 'HIGH'], ignoreUnfixed: true },
      'e1c08587b542c96724ab',
      '4f426c0428c1d8f071d4',
    ],
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
      'ac094bf4fdb9e92a8c1e',
      'a6786b62c809eea92e1b',
    ],
  ] as [ImageScanner[], ScanSettings, string, string][])(
    'are unchanged for %j %j',
    (scanners, settings, a, s) => {
      expect(h(settings, scanners)).toEqual({ a, s });
    },
  );

  it('tells whether anything is filtered at match time', () => {
    expect(hasMatchSettings(canonicalScanSettings(['vuln'], {}).match)).toBe(false);
    expect(hasMatchSettings(canonicalScanSettings(['vuln'], { severities: ['LOW'] }).match)).toBe(true);
  });
});

describe('keys', () => {
  it('name digest, DB, settings and access', () => {
    expect(imageCacheKey(D, '2026-11-01T00:00:00Z', 'h1', 'public')).toBe(
      `image/sha256-${'ab'.repeat(32)}/20261101T000000Z/h1/public`,
    );
    expect(sbomKey(D, 'a1', 'private')).toBe(`sbom/sha256-${'ab'.repeat(32)}/a1/private`);
    expect(analysisLockKey(D, 'a1')).toMatch(/^img\.sha256-(ab){32}\.a1$/);
  });
});

describe('isStale', () => {
  it('is stale only when scanned strictly before notBefore', () => {
    expect(isStale('2026-01-01T00:00:00Z', undefined)).toBe(false);
    expect(isStale('2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z')).toBe(true);
    expect(isStale('2026-01-01T00:00:01Z', '2026-01-01T00:00:01+00:00')).toBe(false);
  });
});
