import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StackError, StackErrorCode } from './errors.ts';

const run = promisify(execFile);

/**
 * The stack's own certificate authority (openssl, EC P-256): kube-apiserver trusts it for client
 * certificates (`--client-ca-file`), so tests authenticate as any user and groups they issue a
 * certificate for; it also signs the serving certificate of the stack's OIDC issuer.
 */
export interface CertificateAuthority {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface IssuedCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

export async function createCertificateAuthority(dir: string): Promise<CertificateAuthority> {
  await mkdir(dir, { recursive: true });
  const ca = { certFile: join(dir, 'ca.crt'), keyFile: join(dir, 'ca.key') };
  await openssl([
    'req',
    '-x509',
    ...NEW_KEY,
    '-keyout',
    ca.keyFile,
    '-out',
    ca.certFile,
    '-days',
    '3650',
    '-subj',
    '/CN=fleetscan-stack-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return ca;
}

/**
 * A client certificate kube-apiserver maps to user `user` in `groups` (CN and O), valid for a day.
 * Files go to `dir`, named after the user.
 */
export async function issueClientCertificate(
  ca: CertificateAuthority,
  opts: { dir: string; user: string; groups?: string[] },
): Promise<IssuedCertificate> {
  const subject = [
    ...(opts.groups ?? []).map((g) => `/O=${subjectValue(g)}`),
    `/CN=${subjectValue(opts.user)}`,
  ].join('');
  return issue(ca, opts.dir, safeName(opts.user), subject, [
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=clientAuth',
  ]);
}

/** A serving certificate for 127.0.0.1 (the stack binds nothing else). */
export async function issueServingCertificate(
  ca: CertificateAuthority,
  opts: { dir: string; name: string },
): Promise<IssuedCertificate> {
  return issue(ca, opts.dir, safeName(opts.name), `/CN=${subjectValue(opts.name)}`, [
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1',
  ]);
}

async function issue(
  ca: CertificateAuthority,
  dir: string,
  name: string,
  subject: string,
  extensions: string[],
): Promise<IssuedCertificate> {
  await mkdir(dir, { recursive: true });
  const out = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  await openssl([
    'req',
    '-x509',
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    ...NEW_KEY,
    '-keyout',
    out.keyFile,
    '-out',
    out.certFile,
    '-days',
    '1',
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-subj',
    subject,
    ...extensions.flatMap((e) => ['-addext', e]),
  ]);
  return out;
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new StackError(StackErrorCode.StartFailed, 'openssl', `openssl ${args[0]} failed`, {
      output: stderr.trim().slice(-2000),
      cause: err,
    });
  }
}

/** openssl -subj treats / and = as separators. */
function subjectValue(s: string): string {
  return s.replace(/[\\/=+,]/g, (c) => `\\${c}`);
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}
