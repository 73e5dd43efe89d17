import { readFileSync } from 'node:fs';
import { formatEnvTable, generatedPart, isConfigError } from '@fleetscan/service';
import { describe, expect, it } from 'vitest';
import { configVariables, loadConfig } from './config.ts';

describe('fleetview configuration', () => {
  const vars = configVariables();

  it('describes every variable it reads, and needs none', () => {
    expect(vars.filter((v) => !v.text).map((v) => v.name)).toEqual([]);
    expect(vars.filter((v) => v.required).map((v) => v.name)).toEqual([]);
  });

  it('documents the default an unset variable really takes', () => {
    const unset = loadConfig({});
    for (const v of vars.filter((x) => x.default !== undefined)) {
      expect(loadConfig({ [v.name]: v.default }), v.name).toEqual(unset);
    }
  });

  it('reads the API token from a file, and refuses a short or unreadable one by name', () => {
    const token = 'x'.repeat(32);
    expect(loadConfig({ API_TOKEN_FILE: '/t' }, () => `${token}\n`).token).toBe(token);
    const short = (() => {
      try {
        loadConfig({ API_TOKEN_FILE: '/t' }, () => 'short');
      } catch (err) {
        return err;
      }
    })();
    expect(isConfigError(short) && short.variables).toEqual(['API_TOKEN_FILE']);
    expect(() =>
      loadConfig({ API_TOKEN_FILE: '/t' }, () => {
        throw new Error('ENOENT');
      }),
    ).toThrow(/API_TOKEN_FILE/);
  });

  it("matches the README's table (run `npm run docs` after changing a variable)", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(generatedPart(readme, 'fleetview-config')).toBe(formatEnvTable(vars));
  });
});
