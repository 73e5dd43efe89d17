import { readFileSync } from 'node:fs';
import { parseDocument, visit } from 'yaml';
import { type ComplianceSpec, ComplianceSpecSchema } from '../compliance.ts';

/** The vendored specs (deploy/compliance), as trivy-checks ships them. */
export const SPEC_DIR = new URL('../../../../deploy/compliance/', import.meta.url);

/**
 * A spec file read as trivy reads it (Go structs of strings: `id: 5.10` is the string "5.10", not
 * a number) and as the API server would store it in a ClusterComplianceReport: trivy-checks writes
 * `checks:` with no items for controls without checks, a null the server drops (not nullable).
 */
export function readSpecFile(id: string): ComplianceSpec {
  return ComplianceSpecSchema.parse(parseSpecText(readFileSync(new URL(`${id}.yaml`, SPEC_DIR), 'utf8')));
}

export function parseSpecText(text: string): unknown {
  const doc = parseDocument(text);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'number' && node.source !== undefined) node.value = node.source;
    },
  });
  return dropNulls((doc.toJS() as { spec: unknown }).spec);
}

function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== null)
        .map(([k, x]) => [k, dropNulls(x)]),
    );
  return v;
}
