import type { ExposedSecret } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import { filterSecrets } from './secrets.ts';

const secret = (ruleID: string, severity: ExposedSecret['severity'], target = '/app/credentials') => ({
  target,
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

  it('drops the secrets a .trivyignore.yaml lists, by rule ID and path, until they expire', () => {
    const all = [
      ...found,
      secret('aws-access-key-id', 'CRITICAL', '/etc/other'),
      secret('jwt-token', 'MEDIUM', 'reg/app:1'),
    ];
    const yaml = [
      'secrets:',
      '  - id: aws-access-key-id',
      '    paths: ["app/**", "/app/*"]',
      '    statement: rotated',
      '  - id: generic-token',
      '    expired_at: 2026-01-01',
      'vulnerabilities:',
      '  - id: jwt-token',
    ].join('\n');
    expect(filterSecrets(all, { ignoreFileYaml: yaml }, now).map((s) => `${s.ruleID} ${s.target}`)).toEqual([
      'generic-token /app/credentials',
      'aws-access-key-id /etc/other',
      'jwt-token reg/app:1',
    ]);
  });

  it("names the requester's reference where trivy named the analysed one (image-config secrets)", () => {
    const config = secret('jwt-token', 'MEDIUM', 'mirror:5000/app:1');
    expect(
      filterSecrets([config, found[0]!], {}, now, {
        analysedAs: 'mirror:5000/app:1',
        image: 'reg/app:1',
      }).map((s) => s.target),
    ).toEqual(['reg/app:1', '/app/credentials']);
  });
});
