import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@fleetscan/stack';

/** The one Dockerfile of the three images (one target per service). */
export const DOCKERFILE = join('deploy', 'images', 'Dockerfile');

export interface Stage {
  name: string;
  /** What it is built FROM: an image (maybe an ${ARG}) or an earlier stage's name. */
  from: string;
  /** Its instructions after the FROM line. */
  body: string;
}

/** Pure: a Dockerfile's named stages, in order. */
export function parseStages(text: string): Stage[] {
  return text
    .split(/^FROM /m)
    .slice(1)
    .map((chunk) => {
      const [line = '', ...rest] = chunk.split('\n');
      const m = /^(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line.trim());
      return { from: m?.[1] ?? '', name: m?.[2] ?? '', body: rest.join('\n') };
    });
}

export function readStages(): Stage[] {
  return parseStages(readFileSync(join(repoRoot, DOCKERFILE), 'utf8'));
}

/** A stage's exec-form ENTRYPOINT (the image's, for the service targets). */
export function entrypointOf(stage: Stage): string[] {
  const m = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(stage.body);
  if (!m?.[1]) throw new Error(`stage ${stage.name} of ${DOCKERFILE} has no exec-form ENTRYPOINT`);
  return JSON.parse(m[1]) as string[];
}

export function stageNamed(stages: Stage[], name: string): Stage {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`${DOCKERFILE} has no stage ${name}`);
  return s;
}
