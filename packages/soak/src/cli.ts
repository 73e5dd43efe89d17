#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
import { HELP, parseSoakArgs } from './options.ts';
import { runSoak } from './run.ts';
import { formatSoak } from './table.ts';

async function main(argv: string[]): Promise<number> {
  const opts = parseSoakArgs(argv);
  if (opts === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const result = await runSoak(opts, { say: (m) => process.stderr.write(`[soak] ${m}\n`) });
  process.stdout.write(
    [
      `soak: ${opts.minutes} min at ${opts.rate} changes/s over ${opts.workloads} workloads, ${opts.images} images, ${opts.scanners} scanner(s), seed ${opts.seed}`,
      `load average at start ${result.loadAtStart.join(' ')}, at end ${result.loadAtEnd.join(' ')}`,
      `warm-up: ${result.warmup.workloads} workloads reported in ${result.warmup.seconds} s (${result.warmup.check})`,
      `churn: ${result.churn.changes} changes in ${result.churn.seconds} s (${Object.entries(
        result.churn.byOp,
      )
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}), ${result.churn.errors} failed`,
      `drain: ${result.drain.converged ? 'converged' : 'timed out'} after ${result.drain.seconds} s`,
      ...result.end.problems.map((p) => `  ${p}`),
      '',
      formatSoak(result.samples, result.verdict),
    ].join('\n'),
  );
  if (opts.json) {
    await writeFile(opts.json, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`JSON: ${opts.json}\n`);
  }
  return result.verdict.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fleetscan-soak: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
