import { createHash } from 'node:crypto';

/** One installed Debian package, as trivy reads it from var/lib/dpkg/status. */
export interface DpkgPackage {
  name: string;
  version: string;
  /** Source package name; omitted from the stanza when equal to `name`. */
  source?: string;
  /** Source version; written in parens only when it differs from `version` (binNMUs). */
  sourceVersion?: string;
  architecture?: string;
  section?: string;
  priority?: string;
  essential?: boolean;
  installedSize?: number;
  maintainer?: string;
  depends?: string;
  description?: string;
}

/** One installed Alpine package, as trivy reads it from lib/apk/db/installed. */
export interface ApkPackage {
  name: string;
  version: string;
  /** Origin (source) package; defaults to `name`. */
  origin?: string;
  arch?: string;
  license?: string;
  description?: string;
  url?: string;
  maintainer?: string;
  size?: number;
  installedSize?: number;
  depends?: readonly string[];
  provides?: readonly string[];
}

export interface DebianSpec {
  kind: 'debian';
  /** os-release VERSION_ID, e.g. `11`. */
  versionId: string;
  codename: string;
  /** Contents of etc/debian_version, e.g. `11.3`. */
  debianVersion: string;
  packages: readonly DpkgPackage[];
}

export interface AlpineSpec {
  kind: 'alpine';
  /** Contents of etc/alpine-release, e.g. `3.18.0`. */
  release: string;
  packages: readonly ApkPackage[];
}

export type DistroSpec = DebianSpec | AlpineSpec;

export function renderDpkgStatus(packages: readonly DpkgPackage[]): string {
  // dpkg terminates every stanza with an empty line, the last one included.
  return packages.map((p) => `${dpkgStanza(p)}\n`).join('');
}

function dpkgStanza(p: DpkgPackage): string {
  const fields: [string, string | undefined][] = [
    ['Package', p.name],
    ['Status', 'install ok installed'],
    ['Priority', p.priority ?? 'optional'],
    ['Section', p.section ?? 'misc'],
    ['Installed-Size', String(p.installedSize ?? 100)],
    ['Maintainer', p.maintainer ?? 'Debian QA Group <packages@qa.debian.org>'],
    ['Architecture', p.architecture ?? 'amd64'],
    ['Source', dpkgSource(p)],
    ['Version', p.version],
    ['Depends', p.depends],
    ['Description', dpkgDescription(p.description ?? `${p.name} package`)],
  ];
  if (p.essential) fields.splice(2, 0, ['Essential', 'yes']);
  return fields
    .filter((f): f is [string, string] => f[1] !== undefined)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
}

function dpkgSource(p: DpkgPackage): string | undefined {
  const name = p.source ?? p.name;
  const versionDiffers = p.sourceVersion !== undefined && p.sourceVersion !== p.version;
  if (versionDiffers) return `${name} (${p.sourceVersion})`;
  return name === p.name ? undefined : name;
}

/** First line is the synopsis; continuation lines are indented, blank ones become " .". */
function dpkgDescription(text: string): string {
  const [synopsis = '', ...rest] = text.trimEnd().split('\n');
  return [synopsis, ...rest.map((l) => (l.trim() === '' ? ' .' : ` ${l}`))].join('\n');
}

export function renderApkInstalled(packages: readonly ApkPackage[]): string {
  return packages.map((p) => `${apkStanza(p)}\n`).join('');
}

function apkStanza(p: ApkPackage): string {
  const lines: [string, string | undefined][] = [
    // Real entries carry a base64 SHA-1 of the package's control data; a
    // hash of name+version keeps the format valid and the output stable.
    ['C', `Q1${createHash('sha1').update(`${p.name}-${p.version}`).digest('base64')}`],
    ['P', p.name],
    ['V', p.version],
    ['A', p.arch ?? 'x86_64'],
    ['S', String(p.size ?? 100000)],
    ['I', String(p.installedSize ?? 200000)],
    ['T', p.description ?? `${p.name} package`],
    ['U', p.url],
    ['L', p.license ?? 'MIT'],
    ['o', p.origin ?? p.name],
    ['m', p.maintainer ?? 'Natanael Copa <ncopa@alpinelinux.org>'],
    ['t', '1683000000'],
    ['D', p.depends?.length ? p.depends.join(' ') : undefined],
    ['p', p.provides?.length ? p.provides.join(' ') : undefined],
  ];
  return lines
    .filter((l): l is [string, string] => l[1] !== undefined)
    .map(([k, v]) => `${k}:${v}\n`)
    .join('');
}

export function debianOsRelease(spec: Pick<DebianSpec, 'versionId' | 'codename'>): string {
  return [
    `PRETTY_NAME="Debian GNU/Linux ${spec.versionId} (${spec.codename})"`,
    'NAME="Debian GNU/Linux"',
    `VERSION_ID="${spec.versionId}"`,
    `VERSION="${spec.versionId} (${spec.codename})"`,
    `VERSION_CODENAME=${spec.codename}`,
    'ID=debian',
    'HOME_URL="https://www.debian.org/"',
    'SUPPORT_URL="https://www.debian.org/support"',
    'BUG_REPORT_URL="https://bugs.debian.org/"',
    '',
  ].join('\n');
}

export function alpineOsRelease(release: string): string {
  const minor = release.split('.').slice(0, 2).join('.');
  return [
    'NAME="Alpine Linux"',
    'ID=alpine',
    `VERSION_ID=${release}`,
    `PRETTY_NAME="Alpine Linux v${minor}"`,
    'HOME_URL="https://alpinelinux.org/"',
    'BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"',
    '',
  ].join('\n');
}

/** The files that make an analyzer (trivy's included) recognise the distro and its packages. */
export function distroFiles(spec: DistroSpec): Record<string, string> {
  if (spec.kind === 'debian') {
    return {
      'etc/os-release': debianOsRelease(spec),
      'etc/debian_version': `${spec.debianVersion}\n`,
      'var/lib/dpkg/status': renderDpkgStatus(spec.packages),
    };
  }
  const minor = spec.release.split('.').slice(0, 2).join('.');
  return {
    'etc/os-release': alpineOsRelease(spec.release),
    'etc/alpine-release': `${spec.release}\n`,
    'etc/apk/repositories': [
      `https://dl-cdn.alpinelinux.org/alpine/v${minor}/main`,
      `https://dl-cdn.alpinelinux.org/alpine/v${minor}/community`,
      '',
    ].join('\n'),
    'lib/apk/db/installed': renderApkInstalled(spec.packages),
  };
}
