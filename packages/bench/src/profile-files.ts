import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StartedService } from './context.ts';
import { type CpuProfile, summarizeProfile } from './profile.ts';
import type { BenchResult } from './result.ts';

/** The services' V8 CPU profiles in `dir` (`--cpu-prof`), each found by its process id, summarised. */
export function summarizeProfiles(dir: string, started: readonly StartedService[]): BenchResult['profiles'] {
  const out: BenchResult['profiles'] = [];
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return out;
  }
  for (const s of started) {
    const file = files.find((f) => f.split('.').includes(String(s.svc.process.pid)));
    if (!file) continue;
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    out.push({ service: s.name, file: join(dir, file), ...summarizeProfile(p) });
  }
  return out;
}
