import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type EnvVariable,
  envVariables,
  formatEnvHelp,
  formatEnvTable,
  generatedPart,
  replaceGeneratedPart,
} from './env-docs.ts';

// The shapes the services' config.ts use.
const list = (def = '') =>
  z
    .string()
    .default(def)
    .transform((s) => s.split(',').filter(Boolean));
const schema = z.object({
  NAME: z
    .string()
    .regex(/^[a-z]+$/)
    .describe('a name'),
  PORT: z.coerce.number().int().min(1).default(8080).describe('a port'),
  KINDS: list('a,b')
    .pipe(z.array(z.enum(['a', 'b'])))
    .describe('kinds'),
  GLOBS: list().describe('globs; empty: all'),
  ON: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe('on or off'),
  TTL: z
    .string()
    .default('24h')
    .transform((s) => s.length)
    .describe('a duration'),
  FILE: z.string().optional(),
});

describe('envVariables', () => {
  it("reads each variable's description, default as written, and whether it is required, in order", () => {
    expect(envVariables(schema, { GLOBS: 'Scope' })).toEqual([
      { name: 'NAME', text: 'a name', required: true },
      { name: 'PORT', text: 'a port', default: '8080', required: false },
      { name: 'KINDS', text: 'kinds', default: 'a,b', required: false },
      // An empty default is no default: the description says what empty means.
      { name: 'GLOBS', text: 'globs; empty: all', required: false, section: 'Scope' },
      { name: 'ON', text: 'on or off', default: 'true', required: false },
      { name: 'TTL', text: 'a duration', default: '24h', required: false },
      { name: 'FILE', text: '', required: false },
    ]);
  });

  it("reads trivy-operator's name for a setting from the schema's meta, whichever comes first", () => {
    const s = z.object({
      A: z.string().default('x').describe('a').meta({ trivyOperator: '`OPERATOR_A`' }),
      B: z.string().optional().meta({ trivyOperator: '`b.key`' }).describe('b'),
    });
    expect(envVariables(s)).toEqual([
      { name: 'A', text: 'a', default: 'x', required: false, trivyOperator: '`OPERATOR_A`' },
      { name: 'B', text: 'b', required: false, trivyOperator: '`b.key`' },
    ]);
    expect(formatEnvHelp(envVariables(s))).toContain('a [trivy-operator: `OPERATOR_A`] (default x)');
  });

  it('shows a default given after a list is split as the list a user would write', () => {
    const s = z.object({ L: list().pipe(z.array(z.string())).default(['x', 'y']).describe('l') });
    expect(envVariables(s)[0]?.default).toBe('x,y');
  });
});

describe('formatEnvHelp', () => {
  const vars: EnvVariable[] = [
    { name: 'A', text: 'short', default: '1', required: false },
    { name: 'LONGER_NAME', text: 'word '.repeat(30).trim(), required: true, section: 'Group' },
  ];

  it('lines up descriptions after the longest name and wraps them under the width', () => {
    const lines = formatEnvHelp(vars, 60).trimEnd().split('\n');
    expect(lines[0]).toBe('  A            short (default 1)');
    expect(lines[1]).toBe('Group:');
    expect(lines[2]?.startsWith('  LONGER_NAME  word word')).toBe(true);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(60);
    for (const l of lines.slice(3)) expect(l.startsWith(`${' '.repeat(15)}word`)).toBe(true);
    expect(lines.at(-1)?.endsWith('word (required)')).toBe(true);
    expect(lines.join(' ').match(/word/g)).toHaveLength(30);
  });
});

describe('formatEnvTable', () => {
  it('writes one row per variable, sections as rows, and escapes what Markdown would read', () => {
    expect(
      formatEnvTable([
        { name: 'A', text: 'globs (*, ?) of <dir>|x', default: 'a,b', required: false, section: 'S' },
        { name: 'B', text: 'b', required: true },
        { name: 'C', text: 'c', required: false, trivyOperator: 'trivy.severity' },
      ]),
    ).toBe(
      [
        '| variable | default | meaning | trivy-operator |',
        '|---|---|---|---|',
        '| **S** | | | |',
        '| `A` | `a,b` | globs (\\*, ?) of &lt;dir>\\|x |  |',
        '| `B` | required | b |  |',
        '| `C` |  | c | `trivy.severity` |',
        '',
      ].join('\n'),
    );
  });

  it("reads trivy-operator's name from the variable's meta, and --help shows it", () => {
    const [v] = envVariables(
      z.object({
        SEVERITIES: z.string().default('').describe('severities').meta({ trivyOperator: 'trivy.severity' }),
      }),
    );
    expect(v?.trivyOperator).toBe('trivy.severity');
    expect(formatEnvHelp(v ? [v] : [])).toContain('severities [trivy-operator: trivy.severity]');
  });
});

describe('formatEnvTable with trivy-operator names', () => {
  it("adds a column with trivy-operator's name when any variable has one", () => {
    expect(
      formatEnvTable([
        {
          name: 'A',
          text: 'a',
          default: 'false',
          required: false,
          trivyOperator: '`OPERATOR_A`',
          section: 'S',
        },
        { name: 'B', text: 'b', required: false },
      ]),
    ).toBe(
      [
        '| variable | default | meaning | trivy-operator |',
        '|---|---|---|---|',
        '| **S** | | | |',
        '| `A` | `false` | a | `OPERATOR_A` |',
        '| `B` |  | b |  |',
        '',
      ].join('\n'),
    );
  });
});

describe('generated parts of a Markdown file', () => {
  const doc = 'intro\n<!-- generated:t from x.ts -->\nold\n<!-- /generated:t -->\nrest $1\n';

  it('reads the part between its markers', () => {
    expect(generatedPart(doc, 't')).toBe('old\n');
    expect(generatedPart(doc, 'other')).toBeUndefined();
  });

  it('replaces only that part, with blank lines around it, and reads back what it wrote', () => {
    const next = replaceGeneratedPart(doc, 't', '| a |\n');
    expect(next).toBe('intro\n<!-- generated:t from x.ts -->\n\n| a |\n\n<!-- /generated:t -->\nrest $1\n');
    expect(generatedPart(next ?? '', 't')).toBe('| a |\n');
    expect(replaceGeneratedPart(next ?? '', 't', '| a |\n')).toBe(next);
    expect(replaceGeneratedPart(doc, 'other', 'x')).toBeUndefined();
  });
});
