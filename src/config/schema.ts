import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { closest, distance } from 'fastest-levenshtein';
import type { ConfigProblem, PathSegment, Positions } from './problems.js';
import { dottedPath, withSegments } from './problems.js';

/** schemas/migration.schema.json: the one JSON Schema, shared with users' editors. */
export const SCHEMA_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'schemas',
  'migration.schema.json',
);

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object;
    const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: false });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  if (!pointer) return [];
  const out: PathSegment[] = [];
  let cursor: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const isIndex = Array.isArray(cursor) && /^\d+$/.test(seg);
    out.push(isIndex ? Number(seg) : seg);
    cursor = cursor && typeof cursor === 'object' ? (cursor as Record<string, unknown>)[seg] : undefined;
  }
  return out;
}

export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const lower = word.toLowerCase();
  const prefix = candidates.find((c) => c.length >= 3 && (lower.startsWith(c) || c.startsWith(lower)));
  if (prefix) return prefix;
  const best = closest(lower, candidates as string[]);
  return distance(lower, best) <= Math.max(2, Math.floor(Math.max(best.length, word.length) / 3)) ? best : undefined;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'a string';
  return `${typeof value}`;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

function describe(err: ErrorObject, path: PathSegment[], positions: Positions): ConfigProblem | undefined {
  const where = dottedPath(path) || 'the file';
  const schema = (err.parentSchema ?? {}) as {
    properties?: Record<string, unknown>;
    pattern?: string;
    description?: string;
  };
  switch (err.keyword) {
    case 'required': {
      const missing = (err.params as { missingProperty: string }).missingProperty;
      const problem = positions.problem(
        path,
        `${where === 'the file' ? 'missing' : `${where}: missing`} required key "${missing}"`,
      );
      return withSegments(problem, [...path, missing]);
    }
    case 'additionalProperties': {
      const key = (err.params as { additionalProperty: string }).additionalProperty;
      const hint = suggest(key, Object.keys(schema.properties ?? {}));
      const known = Object.keys(schema.properties ?? {}).filter((k) => k !== '$schema');
      return positions.problem(
        path,
        `unknown key "${key}"${where === 'the file' ? '' : ` in ${where}`}${hint ? `; did you mean "${hint}"?` : known.length ? ` (known keys: ${known.join(', ')})` : ''}`,
        { key },
      );
    }
    case 'type': {
      const t = String((err.params as { type: string }).type);
      return positions.problem(path, `${where} must be ${TYPE_WORDS[t] ?? t}, not ${typeName(err.data)}`);
    }
    case 'enum': {
      const allowed = ((err.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
      const hint = typeof err.data === 'string' ? suggest(err.data, allowed) : undefined;
      return positions.problem(
        path,
        `${where} must be one of ${allowed.join(', ')}${hint ? `; did you mean "${hint}"?` : ''}`,
      );
    }
    case 'const':
      return positions.problem(
        path,
        `${where} must be ${JSON.stringify((err.params as { allowedValue: unknown }).allowedValue)}`,
      );
    case 'pattern': {
      const p = schema.pattern ?? '';
      if (p.includes('(ms|s|m|h)'))
        return positions.problem(path, `${where} must be a duration such as 500ms, 60s, 5m or 2h`);
      if (p.includes('\\.'))
        return positions.problem(path, `${where} must be a table pattern schema.table (* matches anything)`);
      return positions.problem(path, `${where} has an invalid format (must match ${p})`);
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const p = err.params as { comparison: string; limit: number };
      return positions.problem(path, `${where} must be ${p.comparison} ${p.limit}`);
    }
    case 'minLength':
      return positions.problem(path, `${where} must not be empty`);
    case 'minItems':
      return positions.problem(path, `${where} must list at least ${(err.params as { limit: number }).limit} item(s)`);
    case 'propertyNames': {
      const name = (err.params as { propertyName: string }).propertyName;
      return positions.problem(path, `${where}: key "${name}" must be a table name schema.table`, { key: name });
    }
    case 'if':
    case 'anyOf':
    case 'oneOf':
      return undefined; // the branch errors say more
    default:
      return positions.problem(path, `${where} ${err.message ?? 'is invalid'}`);
  }
}

/** Validates (and fills schema defaults into) data. Returns every problem, located. */
export function validateAgainstSchema(data: unknown, positions: Positions): ConfigProblem[] {
  const validate = validator();
  if (validate(data)) return [];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const err of validate.errors ?? []) {
    if ((err as { propertyName?: string }).propertyName !== undefined && err.keyword !== 'propertyNames') continue;
    const p = describe(err, pointerToPath(err.instancePath, data), positions);
    if (!p) continue;
    const k = `${p.line}:${p.col}:${p.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      problems.push(p);
    }
  }
  return problems;
}

/** A setting the schema refuses: its path, or for a missing required key the mapping and the key it lacks. */
export interface SchemaFault {
  readonly path: readonly PathSegment[];
  readonly missing?: string;
}

/**
 * Where data fails the schema (and fills its defaults, like validateAgainstSchema): the settings to take out so that
 * the checks of meaning can still run on the rest (src/config/repair.ts).
 */
export function schemaFaults(data: unknown): SchemaFault[] {
  const validate = validator();
  if (validate(data)) return [];
  const out: SchemaFault[] = [];
  for (const err of validate.errors ?? []) {
    if ((err as { propertyName?: string }).propertyName !== undefined && err.keyword !== 'propertyNames') continue;
    if (err.keyword === 'if' || err.keyword === 'anyOf' || err.keyword === 'oneOf') continue;
    const path = pointerToPath(err.instancePath, data);
    const params = err.params as { missingProperty?: string; additionalProperty?: string; propertyName?: string };
    if (err.keyword === 'required' && params.missingProperty !== undefined)
      out.push({ path, missing: params.missingProperty });
    else if (err.keyword === 'additionalProperties' && params.additionalProperty !== undefined)
      out.push({ path: [...path, params.additionalProperty] });
    else if (err.keyword === 'propertyNames' && params.propertyName !== undefined)
      out.push({ path: [...path, params.propertyName] });
    else out.push({ path });
  }
  return out;
}
