import { z } from 'zod';

declare module 'zod' {
  interface GlobalMeta {
    /**
     * trivy-operator's name for the same setting (its env variable, config key or Helm value), for
     * users switching over: `--help` and the README's table show it beside ours.
     */
    trivyOperator?: string;
  }
}

/**
 * One environment variable as `--help` and the README describe it, read from the service's zod
 * schema: the text is the variable's `.describe()`, the default is the schema's own, so what the
 * documentation says cannot drift from what the config does.
 */
export interface EnvVariable {
  name: string;
  /** The schema's description; empty when it has none (the services' tests forbid that). */
  text: string;
  /** The value an unset variable takes, as it would be written; undefined when there is none. */
  default?: string;
  /** Unset is an error. */
  required: boolean;
  /** Heading of the group of variables that starts here. */
  section?: string;
  /** trivy-operator's name for the same setting, from the schema's `.meta({ trivyOperator })`. */
  trivyOperator?: string;
}

/** Headings that group the variables, each placed before the variable it names. */
export type EnvSections<S extends z.ZodObject> = Partial<Record<Extract<keyof S['shape'], string>, string>>;

/** The variables of a `parseEnv` schema, in its order. */
export function envVariables<S extends z.ZodObject>(schema: S, sections: EnvSections<S> = {}): EnvVariable[] {
  // The input side is what a user writes: `list.default('')` shows '' rather than its parsed [].
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, { default?: unknown }>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  const headings: Record<string, string | undefined> = sections;
  return Object.entries(schema.shape).map(([name, field]) => {
    // zod gives an outer default without parsing it, so the input side cannot see it: a list's
    // `.default(['vuln'])` after its split would show as the split's ''.
    const def = formatDefault(
      field instanceof z.ZodDefault ? field.def.defaultValue : json.properties?.[name]?.default,
    );
    const section = headings[name];
    const trivyOperator = (field as z.ZodType).meta()?.trivyOperator;
    return {
      name,
      text: (field as z.ZodType).description ?? '',
      ...(def !== undefined && { default: def }),
      required: required.has(name),
      ...(section !== undefined && { section }),
      ...(trivyOperator !== undefined && { trivyOperator }),
    };
  });
}

function formatDefault(v: unknown): string | undefined {
  if (v === undefined || v === '') return undefined;
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** The `--help` listing: a column of names, each description wrapped under `width` columns. */
export function formatEnvHelp(vars: readonly EnvVariable[], width = 100): string {
  const col = 2 + Math.max(0, ...vars.map((v) => v.name.length)) + 2;
  const out: string[] = [];
  for (const v of vars) {
    if (v.section) out.push(...wrap(`${v.section}:`, '', 2, width));
    out.push(...wrap(helpText(v), `  ${v.name}`.padEnd(col), col, width));
  }
  return `${out.join('\n')}\n`;
}

/** `text` word by word after `first`, continued on lines indented by `indent`. */
function wrap(text: string, first: string, indent: number, width: number): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + w.length > width) {
      lines.push(line);
      line = ' '.repeat(indent);
      empty = true;
    }
    line += empty ? w : ` ${w}`;
    empty = false;
  }
  lines.push(line.trimEnd());
  return lines;
}

function helpText(v: EnvVariable): string {
  const text = v.trivyOperator ? `${v.text} [trivy-operator: ${v.trivyOperator}]` : v.text;
  if (v.required) return `${text} (required)`;
  return v.default === undefined ? text : `${text} (default ${v.default})`;
}

/**
 * The README's Markdown table; a section becomes a row of its own. A fourth column gives
 * trivy-operator's name for each setting when any variable has one.
 */
export function formatEnvTable(vars: readonly EnvVariable[]): string {
  const cell = (s: string) => s.replace(/[\\|*]/g, (c) => `\\${c}`).replace(/</g, '&lt;');
  const withTo = vars.some((v) => v.trivyOperator !== undefined);
  const rows = withTo
    ? ['| variable | default | meaning | trivy-operator |', '|---|---|---|---|']
    : ['| variable | default | meaning |', '|---|---|---|'];
  for (const v of vars) {
    if (v.section) rows.push(withTo ? `| **${cell(v.section)}** | | | |` : `| **${cell(v.section)}** | | |`);
    const def = v.required ? 'required' : v.default === undefined ? '' : `\`${v.default}\``;
    const to = withTo ? ` ${v.trivyOperator ? upstreamName(v.trivyOperator) : ''} |` : '';
    rows.push(`| \`${v.name}\` | ${def} | ${cell(v.text)} |${to}`);
  }
  return `${rows.join('\n')}\n`;
}

/**
 * Generated parts of a Markdown file sit between `<!-- generated:NAME ... -->` and
 * `<!-- /generated:NAME -->`, with a blank line either side so Markdown sees a block of its own; the
 * opening comment may say where the part comes from.
 */
function block(name: string): RegExp {
  const n = name.replace(/[^\w-]/g, '');
  return new RegExp(`(<!-- generated:${n}\\b[^>]*-->\\n)([\\s\\S]*?)(<!-- /generated:${n} -->)`);
}

/** The generated part NAME of `text`, without the blank lines around it; undefined when it has none. */
export function generatedPart(text: string, name: string): string | undefined {
  const part = block(name).exec(text)?.[2];
  return part === undefined ? undefined : `${part.trim()}\n`;
}

/** `text` with its generated part NAME replaced by `content`; undefined when its markers are missing. */
export function replaceGeneratedPart(text: string, name: string, content: string): string | undefined {
  const re = block(name);
  if (!re.test(text)) return undefined;
  return text.replace(
    re,
    (_m, open: string, _old: string, close: string) => `${open}\n${content.trim()}\n\n${close}`,
  );
}

/** A plain name is set as code; one that already carries Markdown (several names, a note) as is. */
function upstreamName(name: string): string {
  return name.includes('`') ? name : `\`${name}\``;
}
