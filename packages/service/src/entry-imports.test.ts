import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The services must not load @kubernetes/client-node at run time: importing it alone costs ~85 MB
 * RSS (measured in docs/ARCHITECTURE.md, "Kubernetes access"). Watcher and writer must not load
 * @fleetscan/trivy either (its runner loads execa): they only read image references, which
 * @fleetscan/reports splits. This starts each service's main.ts as it is deployed (`node main.ts`,
 * with --help so it exits after loading its whole static import graph), records every module node
 * resolves, and also searches the loaded project files for a dynamic import of client-node.
 * `import type` is erased and passes; `import { type X }` is not erased by node and fails, as it
 * should.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const FORBIDDEN = '@kubernetes/client-node';
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
        const text = await readFile(fileURLToPath(u), 'utf8');
        if (/\b(import|require)\s*\(\s*['"`]@kubernetes\/client-node/.test(text)) dynamic.push(u);
      }
      expect(dynamic).toEqual([]);
    },
  );
});
