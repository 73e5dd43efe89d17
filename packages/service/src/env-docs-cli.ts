#!/usr/bin/env node
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type EnvVariable, formatEnvTable, replaceGeneratedPart } from './env-docs.ts';

const USAGE = `Usage: env-docs-cli.ts FILE NAME=MODULE...

Rewrites the generated part NAME of the Markdown FILE (between <!-- generated:NAME --> and
<!-- /generated:NAME -->) with the table of MODULE's configVariables(). \`npm run docs\` runs it
for the README and the three services' config.ts.
`;

async function main(argv: readonly string[]): Promise<number> {
  const [file, ...pairs] = argv;
  if (!file || pairs.length === 0 || pairs.some((p) => !/^[\w-]+=./.test(p))) {
    process.stderr.write(USAGE);
    return 2;
  }
  const before = await readFile(file, 'utf8');
  let text = before;
  for (const pair of pairs) {
    const [name = '', path = ''] = pair.split(/=(.*)/s);
    const mod = (await import(pathToFileURL(resolve(path)).href)) as {
      configVariables?: () => EnvVariable[];
    };
    if (typeof mod.configVariables !== 'function') {
      process.stderr.write(`${path} exports no configVariables()\n`);
      return 1;
    }
    const next = replaceGeneratedPart(text, name, formatEnvTable(mod.configVariables()));
    if (next === undefined) {
      process.stderr.write(
        `${file} has no <!-- generated:${name} --> … <!-- /generated:${name} --> markers\n`,
      );
      return 1;
    }
    text = next;
  }
  if (text !== before) await writeFile(file, text);
  process.stdout.write(`${file}: ${text === before ? 'up to date' : 'rewritten'}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`env-docs: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
