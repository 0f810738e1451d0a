import { address } from '../catalog/address.js';
import { specOf, type Catalog, type CatalogObject } from '../catalog/types.js';
import type { Finding } from '../errors/finding.js';
import type { Scope } from '../catalog/scope.js';
import { isManagedSchema } from '../config/supabase.js';

/**
 * Supabase rules: what a Supabase target (or any target whose connecting role is no superuser) refuses, said at
 * plan time as findings. The names Supabase reserves are in ./supabase.ts.
 */

/** Languages a non-superuser cannot create functions in. */
const SUPERUSER_LANGUAGES = new Set(['c', 'internal', 'plpythonu', 'plpython2u', 'plpython3u', 'plperlu', 'pltclu']);

/** Event triggers are never migrated (superuser only; Supabase's postgres cannot create them). */
export function eventTriggerFindings(source: Catalog, supabase: boolean): Finding[] {
  return (source.eventTriggers ?? []).map((name) => ({
    code: 'EVENT_TRIGGER_NOT_MIGRATED',
    severity: 'warning',
    message: `event trigger "${name}" is not migrated: only a superuser can create event triggers${supabase ? ", and Supabase's postgres role is not one" : ''}`,
    hint: 'Recreate what it does another way on the target (a regular trigger, or a scheduled job), or accept that it is gone.',
  }));
}

function withoutLeadingUnderscores(s: string): string {
  let i = 0;
  while (s[i] === '_') i++;
  return s.slice(i);
}

/** A source schema named like one Supabase manages: a blocker unless schemas.map renames it (extensions excepted). */
export function managedSchemaFindings(
  source: Catalog,
  schemaMap: ReadonlyMap<string, string>,
  scope: Scope,
): Finding[] {
  const holders = new Map<string, number>();
  for (const o of source.objects) {
    const s = o.kind === 'schema' || o.kind === 'extension' ? null : (o.table?.schema ?? o.schema);
    if (s && isManagedSchema(s) && !schemaMap.has(s) && scope.objectInScope(o))
      holders.set(s, (holders.get(s) ?? 0) + 1);
  }
  return [...holders].sort().map(([s, n]) => {
    const example = s === 'auth' ? 'app_auth' : `app_${withoutLeadingUnderscores(s)}`;
    return {
      code: 'SCHEMA_RESERVED',
      severity: 'blocker',
      address: address.schema(s),
      message: `source schema "${s}" is named like a schema Supabase manages; its ${n} object(s) cannot be created there`,
      hint: `Map it to a schema of your own in migration.yaml, e.g. schemas: { map: { ${s}: ${example} } } (every reference to it is rewritten), or leave the schema out of tables.include.`,
    };
  });
}

/** The target has the managed schema (extensions, ...) and pgshift may not create it. */
export function skipsManagedSchema(o: CatalogObject, schemaMap: ReadonlyMap<string, string>): boolean {
  return o.kind === 'schema' && isManagedSchema(o.name) && !schemaMap.has(o.name);
}

/** A routine in a language only a superuser may create in (LANGUAGE c, plpython3u, ...): a blocker. */
export function superuserLanguageFinding(o: CatalogObject): Finding | null {
  const f = specOf(o, 'function');
  // an aggregate is written in no language of its own (pg_proc says internal)
  const lang = f && f.routine !== 'aggregate' ? f.language : null;
  if (lang === null || !SUPERUSER_LANGUAGES.has(lang)) return null;
  return {
    code: 'NEEDS_SUPERUSER',
    severity: 'blocker',
    address: o.address,
    message: `${o.address} is written in LANGUAGE ${lang}, which only a superuser can create; Supabase's postgres role is not one`,
    hint: 'Rewrite it in SQL or plpgsql on the source, use an extension Supabase offers instead, or exclude its schema.',
  };
}
