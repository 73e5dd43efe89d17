import type { ScanSettings } from '@fleetscan/bus';
import { describe, expect, it } from 'vitest';
import {
  analysisHash,
  analysisLockKey,
  hasMatchSettings,
  imageCacheKey,
  isStale,
  sbomKey,
  settingsHash,
  splitSettings,
} from './cache-keys.ts';

const D = `sha256:${'ab'.repeat(32)}`;

describe('splitSettings', () => {
  it('puts what trivy reads from the image on one side and match-time filters on the other', () => {
    expect(
      splitSettings(['secret', 'vuln', 'vuln'], {
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

  it('leaves out empty values, so "nothing" has one spelling', () => {
    const a = splitSettings(['vuln'], {});
    const b = splitSettings(['vuln'], {
      severities: [],
      skipFiles: [],
      ignoreUnfixed: false,
      ignoreFile: '',
    });
    expect(a).toEqual(b);
    expect(hasMatchSettings(a.match)).toBe(false);
    expect(hasMatchSettings(splitSettings(['vuln'], { severities: ['LOW'] }).match)).toBe(true);
  });
});

describe('hashes', () => {
  const base = splitSettings(['vuln', 'secret'], {});
  const h = (
    s: Parameters<typeof splitSettings>[1],
    scanners: ('vuln' | 'secret')[] = ['vuln', 'secret'],
  ) => {
    const x = splitSettings(scanners, s);
    return { a: analysisHash(x.analysis), s: settingsHash(x.analysis, x.match) };
  };

  it('match-time settings change the result hash, not the analysis hash', () => {
    const plain = h({});
    for (const s of [
      { severities: ['HIGH' as const] },
      { ignoreUnfixed: true },
      { ignoreFile: 'CVE-2021-22945' },
      { ignorePolicy: 'package trivy' },
    ]) {
      expect(h(s).a).toBe(plain.a);
      expect(h(s).s).not.toBe(plain.s);
    }
  });

  it('analysis settings change both', () => {
    const plain = h({});
    const cases: [ScanSettings, ('vuln' | 'secret')[] | undefined][] = [
      [{ skipFiles: ['/x'] }, undefined],
      [{ skipDirs: ['/x'] }, undefined],
      [{}, ['vuln']],
    ];
    for (const [s, scanners] of cases) {
      const x = h(s, scanners);
      expect(x.a).not.toBe(plain.a);
      expect(x.s).not.toBe(plain.s);
    }
  });

  it('does not depend on order or duplicates', () => {
    expect(h({ severities: ['LOW', 'HIGH'] }, ['secret', 'vuln'])).toEqual(
      h({ severities: ['HIGH', 'LOW', 'HIGH'] }),
    );
    expect(analysisHash(base.analysis)).toMatch(/^[0-9a-f]{20}$/);
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
