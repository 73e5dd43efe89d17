import { describe, expect, it } from 'vitest';
import { distroFiles, renderApkInstalled, renderDpkgStatus } from './distro.ts';

describe('renderDpkgStatus', () => {
  it('writes dpkg stanzas, each ended by an empty line', () => {
    const status = renderDpkgStatus([
      {
        name: 'libc6',
        source: 'glibc',
        version: '2.31-13+deb11u2',
        section: 'libs',
        installedSize: 12837,
        maintainer: 'GNU Libc Maintainers <debian-glibc@lists.debian.org>',
        description: 'GNU C Library: Shared libraries\nContains the standard libraries.\n\nSecond paragraph.',
      },
      { name: 'bash', version: '5.1-2+deb11u1', essential: true, priority: 'required', section: 'shells' },
    ]);
    expect(status).toBe(
      [
        'Package: libc6',
        'Status: install ok installed',
        'Priority: optional',
        'Section: libs',
        'Installed-Size: 12837',
        'Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>',
        'Architecture: amd64',
        'Source: glibc',
        'Version: 2.31-13+deb11u2',
        'Description: GNU C Library: Shared libraries',
        ' Contains the standard libraries.',
        ' .',
        ' Second paragraph.',
        '',
        'Package: bash',
        'Status: install ok installed',
        'Essential: yes',
        'Priority: required',
        'Section: shells',
        'Installed-Size: 100',
        'Maintainer: Debian QA Group <packages@qa.debian.org>',
        'Architecture: amd64',
        'Version: 5.1-2+deb11u1',
        'Description: bash package',
        '',
        '',
      ].join('\n'),
    );
  });

  it('writes Source only when it differs, with the version in parens only when that differs', () => {
    const source = (p: Parameters<typeof renderDpkgStatus>[0][number]) =>
      renderDpkgStatus([p])
        .split('\n')
        .find((l) => l.startsWith('Source:'));
    expect(source({ name: 'curl', source: 'curl', version: '1' })).toBeUndefined();
    expect(source({ name: 'libcurl4', source: 'curl', version: '1' })).toBe('Source: curl');
    expect(source({ name: 'libcurl4', source: 'curl', version: '1', sourceVersion: '1' })).toBe(
      'Source: curl',
    );
    expect(source({ name: 'bash', version: '5.2.15-2+b2', sourceVersion: '5.2.15-2' })).toBe(
      'Source: bash (5.2.15-2)',
    );
  });
});

describe('renderApkInstalled', () => {
  it('writes apk installed-db records', () => {
    const db = renderApkInstalled([
      {
        name: 'libssl3',
        origin: 'openssl',
        version: '3.1.0-r4',
        license: 'Apache-2.0',
        depends: ['so:libc.musl-x86_64.so.1'],
      },
      { name: 'musl', version: '1.2.4-r0' },
    ]);
    const records = db.split('\n\n').filter((r) => r !== '');
    expect(records).toHaveLength(2);
    const first = records[0]!.split('\n');
    expect(first[0]).toMatch(/^C:Q1[A-Za-z0-9+/]{27}=$/);
    expect(first).toEqual(
      expect.arrayContaining([
        'P:libssl3',
        'V:3.1.0-r4',
        'A:x86_64',
        'L:Apache-2.0',
        'o:openssl',
        'D:so:libc.musl-x86_64.so.1',
      ]),
    );
    expect(records[1]).toContain('o:musl');
    expect(db.endsWith('\n\n')).toBe(true);
  });
});

describe('distroFiles', () => {
  it('debian: os-release, debian_version and the dpkg status', () => {
    const files = distroFiles({
      kind: 'debian',
      versionId: '11',
      codename: 'bullseye',
      debianVersion: '11.3',
      packages: [],
    });
    expect(Object.keys(files).sort()).toEqual([
      'etc/debian_version',
      'etc/os-release',
      'var/lib/dpkg/status',
    ]);
    expect(files['etc/os-release']).toContain('ID=debian\n');
    expect(files['etc/os-release']).toContain('VERSION_ID="11"\n');
    expect(files['etc/os-release']).toContain('VERSION_CODENAME=bullseye\n');
    expect(files['etc/debian_version']).toBe('11.3\n');
  });

  it('alpine: os-release, alpine-release, repositories and the apk db', () => {
    const files = distroFiles({ kind: 'alpine', release: '3.18.0', packages: [] });
    expect(Object.keys(files).sort()).toEqual([
      'etc/alpine-release',
      'etc/apk/repositories',
      'etc/os-release',
      'lib/apk/db/installed',
    ]);
    expect(files['etc/os-release']).toContain(
      'ID=alpine\nVERSION_ID=3.18.0\nPRETTY_NAME="Alpine Linux v3.18"',
    );
    expect(files['etc/alpine-release']).toBe('3.18.0\n');
    expect(files['etc/apk/repositories']).toContain('/alpine/v3.18/main');
  });
});
