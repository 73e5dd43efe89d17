#!/usr/bin/env node
import { readFile, writeFile } from 'node:fs/promises';
import { formatComparison, runClusterComparison } from './clusters.ts';
import { HELP, parseBenchArgs } from './options.ts';
import { formatResult } from './report.ts';
import type { BenchResult } from './result.ts';
import { runBench } from './run.ts';

async function main(argv: string[]): Promise<number> {
  // `--print FILE`: the tables of a result written with --json (by this version's report).
  if (argv[0] === '--print' && argv[1]) {
    process.stdout.write(formatResult(JSON.parse(await readFile(argv[1], 'utf8')) as BenchResult));
    return 0;
  }
  const opts = parseBenchArgs(argv);
  if (opts === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (opts.clusters > 1) {
    const c = await runClusterComparison(opts, { say: (m) => process.stderr.write(`[bench] ${m}\n`) });
    process.stdout.write(formatComparison(c));
    if (opts.json) await writeFile(opts.json, `${JSON.stringify(c, null, 2)}\n`);
    return c.passes.every((p) => !p.timedOut) ? 0 : 1;
  }
  const tty = process.stderr.isTTY;
  let lastPrinted = 0;
  let pending = false;
  const result = await runBench(opts, {
    say: (m) => {
      if (pending) process.stderr.write('\n');
      pending = false;
      process.stderr.write(`[bench] ${m}\n`);
    },
    progress: (line) => {
      if (tty) {
        process.stderr.write(`\r\x1b[2K[bench] ${line}`);
        pending = true;
      } else if (Date.now() - lastPrinted >= 10_000) {
        lastPrinted = Date.now();
        process.stderr.write(`[bench] ${line}\n`);
      }
    },
  });
  if (pending) process.stderr.write('\n');
  process.stdout.write(formatResult(result));
  if (opts.json) {
    await writeFile(opts.json, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`\nJSON: ${opts.json}\n`);
  }
  return result.complete ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fleetscan-bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
