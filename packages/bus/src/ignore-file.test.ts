import { describe, expect, it } from 'vitest';
import {
  checkIgnoreYaml,
  doublestarToRegExp,
  IgnoreFileError,
  isIgnored,
  rulesFromText,
  secretRulesFromYaml,
} from './ignore-file.ts';

const now = new Date('2026-06-01T12:00:00Z');

describe('rulesFromText (.trivyignore)', () => {
  it('reads IDs, skips comments and blank lines, honours exp: and skips unreadable dates', () => {
    const file = [
      '# accepted risks',
      'CVE-2021-22945',
      '',
      '  generic-token   exp:2026-12-31',
      'aws-access-key-id exp:2026-01-01',
      'CVE-2022-0778 exp:not-a-date',
    ].join('\n');
    expect(rulesFromText(file, now).map((r) => r.id)).toEqual(['CVE-2021-22945', 'generic-token']);
  });
});

describe('.trivyignore.yaml', () => {
  const yaml = [
    'vulnerabilities:',
    '  - id: CVE-2021-22945',
    '    purls: ["pkg:deb/debian/curl@7.74.0-1.3%2Bdeb11u1"]',
    'secrets:',
    '  - id: aws-access-key-id',
    '    paths: ["**/credentials"]',
    '  - id: jwt-token',
    '    expired_at: 2026-05-01',
    '    statement: expired already',
    '  - id: generic-token',
    '    expired_at: 2027-01-01',
  ].join('\n');

  it('gives the secret rules still in force', () => {
    expect(secretRulesFromYaml(yaml, now)).toEqual([
      { id: 'aws-access-key-id', paths: ['**/credentials'] },
      { id: 'generic-token' },
    ]);
  });

  it('accepts an empty file and sections left empty', () => {
    expect(secretRulesFromYaml('', now)).toEqual([]);
    expect(secretRulesFromYaml('secrets:\n', now)).toEqual([]);
    expect(() => checkIgnoreYaml(yaml)).not.toThrow();
  });

  it.each([
    ['not YAML', 'secrets: [unclosed'],
    ['a list at the top', '- CVE-1\n'],
    ['an entry without id', 'secrets:\n  - paths: [a]\n'],
    ['an unreadable expiry', 'vulnerabilities:\n  - id: CVE-1\n    expired_at: someday\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => checkIgnoreYaml(text)).toThrow(IgnoreFileError);
  });
});

describe('isIgnored', () => {
  it('matches by ID, and by path when the rule names paths', () => {
    const rules = [{ id: 'a' }, { id: 'b', paths: ['etc/*'] }];
    expect(isIgnored(rules, 'a', 'anything')).toBe(true);
    expect(isIgnored(rules, 'b', 'etc/passwd')).toBe(true);
    expect(isIgnored(rules, 'b', 'etc/x/passwd')).toBe(false);
    expect(isIgnored(rules, 'c', 'etc/passwd')).toBe(false);
  });
});

describe('doublestarToRegExp', () => {
  it.each([
    ['**/credentials', '/app/credentials', true],
    ['**/credentials', 'credentials', true],
    ['app/**', 'app/x/y', true],
    ['app/**', 'app', true],
    ['app/**', 'apps', false],
    ['/app/*', '/app/credentials', true],
    ['/app/*', '/app/x/credentials', false],
    ['usr/**/*.py', 'usr/lib/a/b.py', true],
    ['usr/**/*.py', 'usr/b.py', true],
    ['file?.txt', 'file1.txt', true],
    ['[!a]*.txt', 'b.txt', true],
    ['[!a]*.txt', 'a.txt', false],
    ['{lib,usr}/x', 'usr/x', true],
    ['a.b', 'axb', false],
  ])('%s ~ %s: %s', (glob, path, want) => {
    expect(doublestarToRegExp(glob).test(path)).toBe(want);
  });
});
