import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The services must not load @kubernetes/client-node at run time: importing it alone costs ~85 MB
 * RSS (measured in docs/ARCHITECTURE.md, "Kubernetes access"). Watcher and writer must not load
 * @fleetscan/trivy either (its runner loads execa): they only read image references, which
 * @fleetscan/reports splits. This starts each service's main.ts as it is deployed (`node main.ts`,
 * with --help so it exits after loading its whole static import graph), records every module node
 * resolves, and also searches the loaded project files for dynamic imports. `import type` is erased
 * and passes; `import { type X }` is not erased by node and fails, as it should.
 *
 * One dynamic import is allowed, deliberately: connection.ts imports kube's auth-provider.ts (and
 * with it openid-client) for kubeconfig users with an oidc auth-provider, and only for them. So the
 * lazy module must not be among the modules loaded on the normal path, no loaded file may import
 * anything else dynamically (which could reach client-node unseen), and the lazy module itself
 * must not import client-node either.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const FORBIDDEN = '@kubernetes/client-node';
const LAZY = {
  from: 'packages/kube/src/connection.ts',
  specifier: './auth-provider.ts',
  module: 'packages/kube/src/auth-provider.ts',
  loads: 'openid-client',
};
const run = promisify(execFile);

let dir: string;
let hook: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-imports-'));
  hook = join(dir, 'record-imports.mjs');
  await writeFile(
    hook,
    `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
process.on('exit', () => writeFileSync(process.env.RECORD_IMPORTS_TO, JSON.stringify([...seen])));
`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadedBy(service: string): Promise<string[]> {
  const out = join(dir, `${service}.json`);
  await run(
    process.execPath,
    ['--import', hook, join(root, 'services', service, 'src', 'main.ts'), '--help'],
    {
      cwd: root,
      env: { ...process.env, RECORD_IMPORTS_TO: out },
    },
  );
  return JSON.parse(await readFile(out, 'utf8')) as string[];
}

/** What only the scanner runs: trivy's process runner and the package that holds it. */
const SCANNER_ONLY = ['/node_modules/execa/', '/packages/trivy/'];

describe('service entry points', () => {
  it.each([
    ['watcher', 'packages/kube/src/transport.ts', SCANNER_ONLY],
    ['writer', 'packages/kube/src/transport.ts', SCANNER_ONLY],
    ['scanner', 'services/scanner/src/app.ts', []],
  ])(
    '%s loads no @kubernetes/client-node (nor what only the scanner runs) at run time',
    async (service, expected, alsoForbidden) => {
      const urls = await loadedBy(service);
      // The recording works: the service's own graph is there.
      expect(urls.some((u) => u.endsWith(expected))).toBe(true);
      expect(urls.filter((u) => u.includes(`/node_modules/${FORBIDDEN}/`))).toEqual([]);
      expect(urls.filter((u) => alsoForbidden.some((f) => u.includes(f)))).toEqual([]);
      const own = urls.filter((u) => u.startsWith('file:') && !u.includes('/node_modules/'));
      const dynamic: string[] = [];
      for (const u of own) {
        const file = relative(root, fileURLToPath(u));
        const text = await readFile(fileURLToPath(u), 'utf8');
        for (const m of text.matchAll(/\b(?:import|require)\s*\(\s*(?:(['"`])([^'"`]*)\1)?/g)) {
          dynamic.push(`${file} -> ${m[2] ?? '(not a literal)'}`);
        }
      }
      expect(dynamic.filter((d) => d !== `${LAZY.from} -> ${LAZY.specifier}`)).toEqual([]);
      expect(
        urls.filter((u) => u.endsWith(LAZY.module) || u.includes(`/node_modules/${LAZY.loads}/`)),
      ).toEqual([]);
    },
    // Starts a node process per service: seconds on a busy machine, not vitest's 5 s default.
    60_000,
  );

  it('allows one lazy module, reached only through import(), loading openid-client and not client-node', async () => {
    const text = await readFile(join(root, LAZY.module), 'utf8');
    expect(text).toContain(`from '${LAZY.loads}'`);
    expect(text).not.toContain(FORBIDDEN);
    expect(await readFile(join(root, LAZY.from), 'utf8')).toContain(`import('${LAZY.specifier}')`);
  });
});
