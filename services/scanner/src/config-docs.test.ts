import { readFileSync } from 'node:fs';
import { formatEnvTable, generatedPart } from '@fleetscan/service';
import { describe, expect, it } from 'vitest';
import { configVariables, loadConfig } from './config.ts';

/** The variables an unset environment must give. */
const REQUIRED = { TRIVY_CACHE_DIR: '/var/cache/trivy' };

describe('scanner configuration documentation', () => {
  const vars = configVariables();

  it('describes every variable it reads', () => {
    expect(vars.filter((v) => !v.text).map((v) => v.name)).toEqual([]);
    expect(vars.filter((v) => v.required).map((v) => v.name)).toEqual(Object.keys(REQUIRED));
  });

  it('documents the default an unset variable really takes', () => {
    const unset = loadConfig(REQUIRED);
    for (const v of vars.filter((x) => x.default !== undefined)) {
      expect(loadConfig({ ...REQUIRED, [v.name]: v.default }), v.name).toEqual(unset);
    }
  });

  it("matches the README's table (run `npm run docs` after changing a variable)", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(generatedPart(readme, 'scanner-config')).toBe(formatEnvTable(vars));
  });
});
