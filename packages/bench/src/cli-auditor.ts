#!/usr/bin/env node
/**
 * The scanner's former config audit engine behind the audit worker's protocol, for before/after
 * benchmarks: `--env AUDITOR_BIN=packages/bench/src/cli-auditor.ts --env TRIVY_FOR_CLI_AUDITOR=...`.
 * Each request is what one batch was: every manifest written as `<i>.yaml` into one directory and
 * one `trivy config` over it (the flags configAuditArgs gives), its JSON read back per file. Not
 * for production: a batch of mixed kinds gets trivy's batch semantics (see the audit worker).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { configAuditArgs, parseConfigReport, toConfigFinding } from '@fleetscan/trivy';
import { execa } from 'execa';
import { stringify } from 'yaml';

const trivy = process.env.TRIVY_FOR_CLI_AUDITOR ?? 'trivy';
const cacheDir = process.env.TRIVY_CACHE_FOR_CLI_AUDITOR ?? tmpdir();

async function answer(line: string): Promise<string> {
  const req = JSON.parse(line) as { id: number; manifests: unknown[] };
  const dir = await mkdtemp(join(tmpdir(), 'fleetscan-cli-auditor-'));
  try {
    await Promise.all(req.manifests.map((m, i) => writeFile(join(dir, `${i}.yaml`), stringify(m))));
    const run = await execa(trivy, configAuditArgs({ dir, cacheDir, timeoutMs: 900_000 }), {
      extendEnv: false,
      env: {},
      maxBuffer: 1_000_000_000,
    });
    const byFile = new Map(
      (parseConfigReport(run.stdout).Results ?? []).map((r) => [
        r.Target,
        (r.Misconfigurations ?? []).map(toConfigFinding).filter((f) => f.status !== 'EXCEPTION'),
      ]),
    );
    const results = req.manifests.map((_m, i) => ({ findings: byFile.get(`${i}.yaml`) ?? [] }));
    return JSON.stringify({ id: req.id, results });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(JSON.stringify({ ready: { trivy: 'cli', checks: 0, queries: 0 } }));
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim()) console.log(await answer(line));
}
