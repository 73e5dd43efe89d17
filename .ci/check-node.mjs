// Runs in front of every npm script (see package.json). It is plain JavaScript so that any node can
// run it: the machine's own node (Debian's Node 20) only runs .ci/bootstrap, and fails on the
// project's .ts files with ERR_UNKNOWN_FILE_EXTENSION, which says nothing about what to do.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIX =
  'Run this first, in the same shell (it installs Node 24, the npm dependencies and the\n' +
  "local stack's programs, and puts them on PATH):\n\n" +
  '  eval "$(bash .ci/setup)"\n';

/** ">=22.18" (the only form package.json's engines uses) as [22, 18, 0]. */
function minimum(range) {
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  if (!m) throw new Error(`package.json engines.node ${JSON.stringify(range)}: only ">=X.Y.Z" is understood`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

function atLeast(version, min) {
  const have = version.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const a = have[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

const range = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node;
const problems = [];
if (!atLeast(process.versions.node, minimum(range))) {
  problems.push(
    `this is Node ${process.version} (${process.execPath}); fleetscan needs Node ${range}, which runs its TypeScript directly.`,
  );
}
if (!existsSync(join(root, 'node_modules'))) problems.push('the npm dependencies are not installed.');
if (problems.length > 0) {
  process.stderr.write(`fleetscan: ${problems.join('\n')}\n${FIX}`);
  process.exit(1);
}
