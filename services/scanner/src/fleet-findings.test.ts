import { ImageFindingsSchema } from '@fleetscan/bus';
import type { Vulnerability } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import { buildFindings } from './fleet-findings.ts';

const vuln = (id: string, severity: Vulnerability['severity'], fixed = ''): Vulnerability => ({
  vulnerabilityID: id,
  resource: 'openssl',
  installedVersion: '3.0.1',
  fixedVersion: fixed,
  publishedDate: '',
  lastModifiedDate: '',
  severity,
  title: `${id} title`,
  links: [],
  target: '',
});

const input = (
  vulns: Vulnerability[],
  scannedAt: string,
  digest = 'sha256:aa',
  dbUpdatedAt = '2026-01-01T00:00:00Z',
) => ({
  cluster: 'a',
  namespace: 'ns',
  image: 'reg/app:1',
  digest,
  data: { vulnerabilities: vulns, scannedAt, dbUpdatedAt },
  now: new Date('2026-02-01T00:00:00Z'),
});

describe('the fleet findings of an image', () => {
  it('keeps each finding’s first-seen time across re-matches and dates new ones at their scan', () => {
    const first = buildFindings(input([vuln('CVE-1', 'HIGH')], '2026-01-10T00:00:00Z'), undefined);
    const second = buildFindings(
      input([vuln('CVE-2', 'CRITICAL', '3.0.2'), vuln('CVE-1', 'HIGH')], '2026-01-20T00:00:00Z'),
      first,
    );
    expect(ImageFindingsSchema.parse(second)).toEqual(second);
    expect(second.findings.map((f) => [f.id, f.firstSeen])).toEqual([
      ['CVE-2', '2026-01-20T00:00:00Z'],
      ['CVE-1', '2026-01-10T00:00:00Z'],
    ]);
  });

  it('keeps the DB version each finding was first found with: a re-match with a new DB dates the new ones', () => {
    const first = buildFindings(input([vuln('CVE-1', 'HIGH')], '2026-01-10T00:00:00Z'), undefined);
    const rematch = buildFindings(
      input(
        [vuln('CVE-2', 'CRITICAL'), vuln('CVE-1', 'HIGH')],
        '2026-01-20T00:00:00Z',
        'sha256:aa',
        '2026-01-19T06:00:00Z',
      ),
      first,
    );
    expect(rematch.findings.map((f) => [f.id, f.firstDb])).toEqual([
      ['CVE-2', '2026-01-19T06:00:00Z'],
      ['CVE-1', '2026-01-01T00:00:00Z'],
    ]);
    // A message of a scanner older than firstDb: the finding keeps having none.
    const old = { ...first, findings: first.findings.map(({ firstDb: _, ...f }) => f) };
    const next = buildFindings(input([vuln('CVE-1', 'HIGH')], '2026-01-30T00:00:00Z'), old);
    expect(next.findings[0]?.firstDb).toBeUndefined();
  });

  it('dates every finding anew when the tag now names another digest', () => {
    const first = buildFindings(input([vuln('CVE-1', 'HIGH')], '2026-01-10T00:00:00Z'), undefined);
    const other = buildFindings(input([vuln('CVE-1', 'HIGH')], '2026-01-20T00:00:00Z', 'sha256:bb'), first);
    expect(other.findings[0]?.firstSeen).toBe('2026-01-20T00:00:00Z');
  });

  it('keeps the previous findings on a failed scan, and says it failed', () => {
    const first = buildFindings(input([vuln('CVE-1', 'HIGH')], '2026-01-10T00:00:00Z'), undefined);
    const failed = buildFindings(
      {
        cluster: 'a',
        namespace: 'ns',
        image: 'reg/app:1',
        error: { code: 'NOT_FOUND', message: 'gone' },
        now: new Date(),
      },
      first,
    );
    expect(failed.status).toBe('error');
    expect(failed.digest).toBe('sha256:aa');
    expect(failed.findings).toEqual(first.findings);
  });

  it('drops duplicate findings and keeps the most severe first', () => {
    const out = buildFindings(
      input(
        [vuln('CVE-3', 'LOW'), vuln('CVE-1', 'HIGH'), vuln('CVE-1', 'HIGH'), vuln('CVE-2', 'CRITICAL')],
        '2026-01-10T00:00:00Z',
      ),
      undefined,
    );
    expect(out.findings.map((f) => f.id)).toEqual(['CVE-2', 'CVE-1', 'CVE-3']);
    expect(out.omitted).toBe(0);
  });
});
