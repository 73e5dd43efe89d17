import type { ExposedSecret } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import { filterSecrets, ignoredIds } from './secrets.ts';

const secret = (ruleID: string, severity: ExposedSecret['severity']): ExposedSecret => ({
  target: '/app/credentials',
  ruleID,
  title: ruleID,
  category: 'AWS',
  severity,
  match: 'aws_access_key_id = ****',
});
const now = new Date('2026-06-01T12:00:00Z');
const found = [secret('aws-access-key-id', 'CRITICAL'), secret('generic-token', 'MEDIUM')];

describe('filterSecrets', () => {
  it('returns everything without match settings', () => {
    expect(filterSecrets(found, {}, now)).toEqual(found);
  });

  it('keeps the asked severities only', () => {
    expect(filterSecrets(found, { severities: ['HIGH', 'CRITICAL'] }, now).map((s) => s.ruleID)).toEqual([
      'aws-access-key-id',
    ]);
  });

  it('drops rule IDs the ignore file lists', () => {
    expect(
      filterSecrets(found, { ignoreFile: '# ours\naws-access-key-id\n' }, now).map((s) => s.ruleID),
    ).toEqual(['generic-token']);
  });
});

describe('ignoredIds', () => {
  it('reads IDs, skips comments and blank lines, honours exp:', () => {
    const file = [
      '# accepted risks',
      'CVE-2021-22945',
      '',
      '  generic-token   exp:2026-12-31',
      'aws-access-key-id exp:2026-01-01',
      'CVE-2022-0778 exp:not-a-date',
    ].join('\n');
    expect([...ignoredIds(file, now)].sort()).toEqual(['CVE-2021-22945', 'generic-token']);
  });
});
