/**
 * A small checker for the subset of Kubernetes structural OpenAPI schemas our CRDs use
 * (type, properties, required, items, additionalProperties, enum, minimum, format date-time,
 * x-kubernetes-preserve-unknown-fields), and a comparison of a zod schema with such a schema.
 *
 * Pruning follows the API server: an object node with `properties` drops unknown fields unless it
 * carries x-kubernetes-preserve-unknown-fields itself (the flag is not inherited by nested
 * properties that have their own schema). The root `metadata` is ObjectMeta, owned by the server.
 */
import type { z } from 'zod';

export interface OpenApiSchema {
  readonly type?: string;
  readonly format?: string;
  readonly description?: string;
  readonly properties?: Readonly<Record<string, OpenApiSchema>>;
  readonly required?: readonly string[];
  readonly items?: OpenApiSchema;
  readonly additionalProperties?: OpenApiSchema | boolean;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
}

export interface SchemaProblem {
  /** JSON-path-like location, e.g. `.report.vulnerabilities[0].severity`. */
  readonly path: string;
  readonly message: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const preserves = (s: OpenApiSchema): boolean => s['x-kubernetes-preserve-unknown-fields'] === true;

/**
 * Validates `value` against a CRD's openAPIV3Schema. Unknown fields the server would prune are
 * reported as problems too, because a pruned field is data silently lost.
 */
export function validateStructural(value: unknown, schema: OpenApiSchema, path = ''): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const at = (message: string, p = path): void => {
    problems.push({ path: p || '.', message });
  };

  if (value === null || value === undefined) {
    at(`null/undefined not allowed (type ${schema.type ?? 'any'})`);
    return problems;
  }
  if (schema.enum && !schema.enum.includes(value)) at(`${JSON.stringify(value)} not in enum`);

  switch (schema.type) {
    case 'object': {
      if (!isPlainObject(value)) {
        at(`expected object, got ${Array.isArray(value) ? 'array' : typeof value}`);
        break;
      }
      for (const key of schema.required ?? []) {
        if (value[key] === undefined) at(`missing required field ${key}`);
      }
      for (const [key, child] of Object.entries(value)) {
        const childPath = `${path}.${key}`;
        if (child === undefined) continue;
        if (path === '' && key === 'metadata') {
          if (!isPlainObject(child)) at('metadata must be an object', childPath);
          continue;
        }
        const prop = schema.properties?.[key];
        if (prop) problems.push(...validateStructural(child, prop, childPath));
        else if (typeof schema.additionalProperties === 'object')
          problems.push(...validateStructural(child, schema.additionalProperties, childPath));
        else if (!preserves(schema) && schema.additionalProperties !== true)
          at('unknown field (the API server would prune it)', childPath);
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) {
        at(`expected array, got ${typeof value}`);
        break;
      }
      if (schema.items) {
        for (const [i, item] of value.entries()) {
          problems.push(...validateStructural(item, schema.items, `${path}[${i}]`));
        }
      }
      break;
    case 'string':
      if (typeof value !== 'string') at(`expected string, got ${typeof value}`);
      else if (schema.format === 'date-time' && !RFC3339.test(value))
        at(`not an RFC 3339 date-time: ${value}`);
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value))
        at(`expected integer, got ${JSON.stringify(value)}`);
      else if (schema.minimum !== undefined && value < schema.minimum)
        at(`${value} < minimum ${schema.minimum}`);
      break;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value))
        at(`expected number, got ${JSON.stringify(value)}`);
      else if (schema.minimum !== undefined && value < schema.minimum)
        at(`${value} < minimum ${schema.minimum}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') at(`expected boolean, got ${typeof value}`);
      break;
    case undefined:
      if (!preserves(schema)) at('schema node without type');
      break;
    default:
      at(`unsupported schema type ${schema.type}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// zod <-> OpenAPI comparison

interface ZodDef {
  readonly type: string;
  readonly shape?: Readonly<Record<string, z.ZodType>>;
  readonly catchall?: z.ZodType;
  readonly innerType?: z.ZodType;
  readonly element?: z.ZodType;
  readonly keyType?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly entries?: Readonly<Record<string, string | number>>;
  readonly values?: readonly unknown[];
  readonly format?: string;
  readonly checks?: readonly {
    readonly _zod: { readonly def: { check?: string; value?: unknown; inclusive?: boolean } };
  }[];
}

const defOf = (schema: z.ZodType): ZodDef => (schema as unknown as { _zod: { def: ZodDef } })._zod.def;

function unwrapOptional(schema: z.ZodType): { inner: z.ZodType; optional: boolean } {
  let s = schema;
  let optional = false;
  for (;;) {
    const d = defOf(s);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'prefault') && d.innerType) {
      optional = true;
      s = d.innerType;
    } else return { inner: s, optional };
  }
}

export interface CompareOptions {
  /** Also report CRD properties the zod schema lacks (default true). */
  readonly requireAllCrdFields?: boolean;
}

/**
 * Reports every way in which `zodSchema` disagrees with `crd` (a CRD's openAPIV3Schema):
 * a zod field the CRD does not have (the server would prune it), a type mismatch, a CRD-required
 * field that zod makes optional, zod enum values outside the CRD enum, and (unless disabled) CRD
 * fields zod does not model.
 */
export function compareZodWithOpenApi(
  zodSchema: z.ZodType,
  crd: OpenApiSchema,
  options: CompareOptions = {},
  path = '',
): SchemaProblem[] {
  const requireAll = options.requireAllCrdFields ?? true;
  const problems: SchemaProblem[] = [];
  const at = (message: string, p = path): void => {
    problems.push({ path: p || '.', message });
  };
  const { inner } = unwrapOptional(zodSchema);
  const d = defOf(inner);
  const expectType = (t: string): boolean => {
    if (crd.type !== t) {
      at(`zod ${d.type} but CRD type ${crd.type ?? '(none)'}`);
      return false;
    }
    return true;
  };
  const checkEnum = (values: readonly unknown[]): void => {
    if (!crd.enum) return;
    for (const v of values)
      if (!crd.enum.includes(v)) at(`zod allows ${JSON.stringify(v)}, not in the CRD enum`);
  };

  switch (d.type) {
    case 'object': {
      if (path === '.metadata') break; // ObjectMeta: validated and pruned by the API server itself.
      if (!expectType('object')) break;
      const shape = d.shape ?? {};
      const catchallType = d.catchall ? defOf(d.catchall).type : undefined;
      if (catchallType && catchallType !== 'never' && !preserves(crd))
        at('zod object keeps unknown keys but the CRD node prunes them');
      for (const [key, child] of Object.entries(shape)) {
        const prop = crd.properties?.[key];
        if (prop) problems.push(...compareZodWithOpenApi(child, prop, options, `${path}.${key}`));
        else if (!preserves(crd))
          at('zod field missing from the CRD (the API server would prune it)', `${path}.${key}`);
      }
      for (const key of crd.required ?? []) {
        const child = shape[key];
        if (!child) at(`CRD requires ${key}, zod does not model it`);
        else if (unwrapOptional(child).optional)
          at(`CRD requires ${key}, zod makes it optional`, `${path}.${key}`);
      }
      if (requireAll) {
        for (const key of Object.keys(crd.properties ?? {})) {
          if (!(key in shape)) at('CRD field not modelled in zod', `${path}.${key}`);
        }
      }
      break;
    }
    case 'record': {
      if (!expectType('object')) break;
      if (d.keyType && defOf(d.keyType).type !== 'string') at('record keys must be strings');
      if (typeof crd.additionalProperties !== 'object')
        at('zod record but CRD has no additionalProperties schema');
      else if (d.valueType)
        problems.push(...compareZodWithOpenApi(d.valueType, crd.additionalProperties, options, `${path}{*}`));
      break;
    }
    case 'array':
      if (!expectType('array')) break;
      if (!crd.items) at('CRD array without items');
      else if (d.element) problems.push(...compareZodWithOpenApi(d.element, crd.items, options, `${path}[]`));
      break;
    case 'string':
      if (!expectType('string')) break;
      if (crd.format === 'date-time' && d.format !== 'datetime')
        at('CRD wants date-time, zod does not check it');
      break;
    case 'enum':
      if (expectType('string')) checkEnum(Object.values(d.entries ?? {}));
      break;
    case 'literal': {
      const values = d.values ?? [];
      if (values.every((v) => typeof v === 'string') && expectType('string')) checkEnum(values);
      else if (!values.every((v) => typeof v === 'string')) at('only string literals are supported');
      break;
    }
    case 'number': {
      const isInt =
        d.format === 'safeint' || d.format === 'int32' || d.format === 'int64' || d.format === 'uint32';
      if (!expectType(isInt ? 'integer' : 'number')) break;
      if (crd.minimum !== undefined) {
        const min = (d.checks ?? [])
          .map((c) => c._zod.def)
          .filter((c) => c.check === 'greater_than' && typeof c.value === 'number')
          .map((c) => (c.value as number) + (c.inclusive ? 0 : Number.EPSILON));
        if (!min.some((m) => m >= (crd.minimum ?? 0))) at(`CRD minimum ${crd.minimum} not enforced by zod`);
      }
      break;
    }
    case 'boolean':
      expectType('boolean');
      break;
    default:
      at(`unsupported zod type ${d.type}`);
  }
  return problems;
}
