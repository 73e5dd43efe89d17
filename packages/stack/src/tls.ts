import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface TestTls {
  /** PEM of the CA that signed the server certificate: what clients trust. */
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * A throwaway CA and a server certificate for 127.0.0.1 and localhost signed by it, made with
 * openssl (Debian's), valid for two days: enough for a test run, useless after.
 */
export async function createTestTls(dir: string, name = 'nats'): Promise<TestTls> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const f = (x: string) => join(dir, x);
  const ossl = (args: string[]) => execa('openssl', args, { cwd: dir });
  await ossl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-subj',
    '/CN=fleetscan test CA',
  ]);
  await ossl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f(`${name}.key`),
    '-out',
    f(`${name}.csr`),
    '-subj',
    `/CN=${name}`,
  ]);
  await writeFile(f(`${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await ossl([
    'x509',
    '-req',
    '-days',
    '2',
    '-in',
    f(`${name}.csr`),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-extfile',
    f(`${name}.ext`),
    '-out',
    f(`${name}.pem`),
  ]);
  return { caFile: f('ca.pem'), certFile: f(`${name}.pem`), keyFile: f(`${name}.key`) };
}
