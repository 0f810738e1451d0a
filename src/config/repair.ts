import type { PathSegment } from './problems.js';
import { schemaFaults } from './schema.js';

/** Stands in for a required setting that has a problem, so that the checks of meaning can run on the others. */
const PLACEHOLDER_URL = 'postgres://pgshift-placeholder@localhost/placeholder';
const REQUIRED_PLACEHOLDERS: Record<string, () => unknown> = {
  version: () => 1,
  name: () => 'placeholder',
  url: () => PLACEHOLDER_URL,
  source: () => ({ url: PLACEHOLDER_URL }),
  target: () => ({ url: PLACEHOLDER_URL }),
};

const GONE = Symbol('gone');

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Takes the value at path out (a list item is marked, and dropped by sweep). False when there is nothing to take. */
function takeOut(root: unknown, path: readonly PathSegment[]): boolean {
  if (path.length === 0) return false;
  let parent: unknown = root;
  for (const seg of path.slice(0, -1)) {
    parent = Array.isArray(parent) ? parent[Number(seg)] : isRecord(parent) ? parent[String(seg)] : undefined;
    if (parent === undefined) return true; // already gone with an ancestor
  }
  const last = path[path.length - 1] as PathSegment;
  if (Array.isArray(parent)) parent[Number(last)] = GONE;
  else if (isRecord(parent)) delete parent[String(last)];
  return true;
}

function sweep(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== GONE).map(sweep);
  if (isRecord(v)) for (const k of Object.keys(v)) v[k] = sweep(v[k]);
  return v;
}

export interface Repaired {
  /** The data with every setting that has a problem taken out (schema defaults in its place), schema-valid. */
  readonly data: unknown;
  /** The settings taken out or stood in for: a check of meaning that reads one of them cannot run. */
  readonly blocked: readonly (readonly PathSegment[])[];
}

/**
 * The config without its faulty settings, for the checks of meaning: each setting with an earlier problem (an unset
 * variable, a control character, a schema error) is taken out so that its schema default applies, a required one
 * (version, name, a url) is stood in for, and what then fails the schema is taken out in turn. Undefined when the
 * file as a whole is at fault (nothing can be checked on it).
 */
export function repairForMeaning(data: unknown, faulty: readonly (readonly PathSegment[])[]): Repaired | undefined {
  let current: unknown = structuredClone(data);
  const blocked: PathSegment[][] = [];
  const remove = (path: readonly PathSegment[]): boolean => {
    blocked.push([...path]);
    return takeOut(current, path);
  };
  for (const path of faulty) if (!remove(path)) return undefined;
  current = sweep(current);
  for (let round = 0; round < 8; round++) {
    const faults = schemaFaults(current); // fills the schema defaults of what is left
    if (faults.length === 0) return { data: current, blocked };
    for (const f of faults) {
      if (f.missing !== undefined) {
        const stand = REQUIRED_PLACEHOLDERS[f.missing];
        let parent: unknown = current;
        for (const seg of f.path) parent = isRecord(parent) || Array.isArray(parent) ? (parent as never)[seg] : null;
        blocked.push([...f.path, f.missing]);
        if (stand && isRecord(parent)) parent[f.missing] = stand();
        else if (!remove(f.path)) return undefined; // e.g. cutover.switch without its variable: drop it
      } else if (!remove(f.path)) return undefined;
    }
    current = sweep(current);
  }
  return undefined;
}
