#!/usr/bin/env node
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { locateTools, repoRoot, type StackInfo } from '@fleetscan/stack';
/**
 * Regenerates packages/trivy/testdata from the real trivy against a running local stack:
 *
 *   npm run stack:up                        # or: node packages/stack/src/cli.ts up --dir DIR
 *   node packages/trivy/scripts/capture-fixtures.ts [--stack-dir DIR]
 *   node packages/trivy/scripts/capture-fixtures.ts --auditor-only   # the audit worker's answer only (no stack)
 *
 * Everything written is trivy's own output, byte for byte; nothing is edited afterwards. The
 * registry's random port therefore appears in the fixtures, and tests must not depend on it.
 */
import { execa } from 'execa';
import { parse } from 'yaml';
import {
  createTrivyRunner,
  type ImageScanArgsInput,
  imageScanArgs,
  type RegistryAuth,
  sbomScanArgs,
  trivyEnv,
} from '../src/index.ts';

const testdata = fileURLToPath(new URL('../testdata/', import.meta.url));
const TIMEOUT_MS = 120_000;

/**
 * The audit worker's response line for three parity manifests (a ReplicaSet, a Deployment and
 * a ConfigMap), as it prints it: the real findings config-checks.test.ts maps, aliases included.
 */
async function captureAuditor(bin: string): Promise<void> {
  const manifests = await Promise.all(
    ['replicaset.yaml', 'deployment.yaml', 'configmap.yaml'].map(async (f) =>
      parse(await readFile(join(testdata, 'parity', f), 'utf8')),
    ),
  );
  const res = await execa(bin, [], {
    input: `${JSON.stringify({ id: 1, manifests })}\n`,
    extendEnv: false,
    stripFinalNewline: false,
  });
  const [, response] = res.stdout.split('\n');
  if (!response) throw new Error(`the audit worker did not answer: ${res.stderr}`);
  await writeFile(join(testdata, 'auditor-response.json'), `${response}\n`);
  console.log('wrote auditor-response.json');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'stack-dir': { type: 'string' }, 'auditor-only': { type: 'boolean' } },
  });
  if (values['auditor-only']) {
    const cache = process.env.FLEETSCAN_CACHE ?? join(process.env.HOME ?? '', '.cache', 'fleetscan');
    await captureAuditor(locateTools(cache).auditor);
    return;
  }
  const stackDir = values['stack-dir'] ?? join(repoRoot, '.stack');
  const stack = JSON.parse(await readFile(join(stackDir, 'stack.json'), 'utf8')) as StackInfo;
  await captureAuditor(stack.trivy.auditor);
  const { bin, cacheDir } = stack.trivy;
  const logger = { debug: () => {}, warn: () => {} };
  const runner = createTrivyRunner({ bin, cacheDir, timeoutMs: TIMEOUT_MS, logger });
  const reg = stack.registry.host;
  await mkdir(join(testdata, 'stderr'), { recursive: true });

  const scans: [string, string][] = [
    ['image-nginx.json', `${reg}/library/nginx:1.20`],
    ['image-alpine.json', `${reg}/library/alpine:3.18`],
    ['image-clean.json', `${reg}/library/clean:1.0`],
    // The stack catalog's alpine with a made-up AWS key pair (see testImages.secret).
    ['image-secret.json', `${reg}/library/secret:1.0`],
  ];
  for (const [file, ref] of scans) {
    // The scanner's defaults: both scanners, and secrets in the image config too.
    const { json } = await runner.scanImage(ref, {
      scanners: ['vuln', 'secret'],
      imageConfigScanners: ['secret'],
    });
    await writeFile(join(testdata, file), json);
    console.log(`wrote ${file}`);
  }

  // The SBOM path: trivy convert of the nginx report, then trivy sbom of that with the same DB.
  // Run from testdata with relative names, as the report then names the file (`sbom-nginx.cdx.json`).
  const cdx = await runner.convertToCycloneDx(join(testdata, 'image-nginx.json'));
  await writeFile(join(testdata, 'sbom-nginx.cdx.json'), cdx.json);
  const sbomRun = await execa(
    bin,
    sbomScanArgs({ sbom: 'sbom-nginx.cdx.json', cacheDir, timeoutMs: TIMEOUT_MS }),
    { env: trivyEnv({ cacheDir }), extendEnv: false, cwd: testdata, stripFinalNewline: false },
  );
  await writeFile(join(testdata, 'sbom-nginx.json'), sbomRun.stdout);
  console.log('wrote sbom-nginx.cdx.json, sbom-nginx.json');

  const manifests = join(testdata, 'manifests');
  await writeFile(join(testdata, 'config-audit.json'), (await runner.auditConfigs(manifests)).json);
  await writeFile(
    join(testdata, 'config-audit-passed.json'),
    (await runner.auditConfigs(manifests, { includePassed: true })).json,
  );
  console.log('wrote config-audit.json, config-audit-passed.json');

  const version = await execa(bin, ['version', '--format', 'json', '--cache-dir', cacheDir], {
    extendEnv: false,
  });
  await writeFile(join(testdata, 'version.json'), `${version.stdout}\n`);
  await copyFile(join(cacheDir, 'db', 'metadata.json'), join(testdata, 'db-metadata.json'));

  // Failures: the raw stderr of each, for the classifier's tests.
  const auth = stack.authRegistry;
  const creds: RegistryAuth = { username: auth.username, password: auth.password };
  const failures: [string, string, RegistryAuth | undefined][] = [
    ['image-not-found.txt', `${reg}/library/nginx:9.99`, undefined],
    ['repository-not-found.txt', `${reg}/library/nope:1.0`, undefined],
    ['digest-not-found.txt', `${reg}/library/nginx@sha256:${'0'.repeat(64)}`, undefined],
    ['unauthorized.txt', `${auth.host}/library/nginx:1.20`, undefined],
    ['unauthorized-wrong-password.txt', `${auth.host}/library/nginx:1.20`, { ...creds, password: 'wrong' }],
    ['not-found-with-credentials.txt', `${auth.host}/library/nginx:9.99`, creds],
    ['invalid-reference.txt', `${reg}/Library/NGINX:1.20`, undefined],
    ['invalid-reference-tag.txt', `${reg}/library/nginx:bad tag`, undefined],
    ['connection-refused.txt', '127.0.0.1:1/library/nginx:1.20', undefined],
  ];
  for (const [file, ref, registryAuth] of failures) {
    const input: ImageScanArgsInput = { ref, cacheDir, timeoutMs: TIMEOUT_MS, scanners: ['vuln', 'secret'] };
    const res = await execa(bin, imageScanArgs(input), {
      env: trivyEnv({ cacheDir, registryAuth }),
      extendEnv: false,
      cwd: cacheDir,
      reject: false,
    });
    if (res.exitCode === 0) throw new Error(`${file}: expected trivy to fail for ${ref}`);
    await writeFile(join(testdata, 'stderr', file), res.stderr);
    console.log(`wrote stderr/${file} (exit ${res.exitCode})`);
  }
  // trivy config rejects the image-only offline flags; kept to show what that looks like.
  const bad = await execa(bin, ['config', '--skip-db-update', '--cache-dir', cacheDir, manifests], {
    extendEnv: false,
    cwd: cacheDir,
    reject: false,
  });
  await writeFile(join(testdata, 'stderr', 'unknown-flag.txt'), bad.stderr);
  console.log('wrote stderr/unknown-flag.txt');
}

await main();
