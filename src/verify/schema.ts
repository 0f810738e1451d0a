import type pg from 'pg';
import type { Catalog } from '../catalog/types.js';
import { qualified, quoteIdent } from '../db/ident.js';
import type { Scope } from '../plan/scope.js';
import type { SchemaDifference } from './report.js';

/**
 * Schema parity: every source object in scope is on the target with the same server-rendered definition
 * (columns, constraints, indexes, views, functions, triggers, policies, RLS flags, comments, extensions,
 * sequence values).
 */
const LAST_VALUE = /^last_value=(-?\d+) /;

/** A live source's sequence that has moved on since the plan set the target's: not a difference before a cutover. */
function sourceAhead(sourceDef: string, targetDef: string): boolean {
  const a = LAST_VALUE.exec(sourceDef)?.[1];
  const b = LAST_VALUE.exec(targetDef)?.[1];
  return a !== undefined && b !== undefined && BigInt(a) >= BigInt(b);
}

/**
 * Objects the plan creates that are missing or different on the target. `live`: a sequence value the source has
 * moved past is expected (the cutover sets every sequence from the source's final value).
 */
export function schemaParity(source: Catalog, target: Catalog, scope: Scope, live = false): SchemaDifference[] {
  const t = new Map(target.objects.map((o) => [o.address, o.definition]));
  // what the plan leaves out: out of scope, or depending on something out of scope (a view over an excluded table)
  const left = new Set(source.objects.filter((o) => !scope.objectInScope(o)).map((o) => o.address));
  for (let grew = true; grew; ) {
    grew = false;
    for (const o of source.objects) {
      if (!left.has(o.address) && o.dependsOn.some((d) => left.has(d))) {
        left.add(o.address);
        grew = true;
      }
    }
  }
  const out: SchemaDifference[] = [];
  for (const o of source.objects) {
    if (left.has(o.address)) continue;
    const def = t.get(o.address);
    if (def === undefined) out.push({ address: o.address, kind: 'missing' });
    else if (def !== o.definition && !(live && o.kind === 'sequence_value' && sourceAhead(o.definition, def))) out.push({ address: o.address, kind: 'different', ...(o.kind === 'sequence_value' ? { detail: `source ${o.definition}, target ${def}` } : {}) });
  }
  return out;
}

/**
 * Sequences on the target that would hand out a value its column already holds (behind max of the column). With
 * `only` (`schema.table` names), just the sequences of those tables: the migrated ones (a managed target has
 * sequences of its own, on tables the migration role may not even read).
 */
export async function sequencesBehind(target: pg.ClientBase, only?: ReadonlySet<string>): Promise<SchemaDifference[]> {
  const owned = await target.query<{ seq_schema: string; seq: string; tbl_schema: string; tbl: string; col: string }>(
    `SELECT sn.nspname AS seq_schema, s.relname AS seq, tn.nspname AS tbl_schema, t.relname AS tbl, a.attname AS col
       FROM pg_catalog.pg_depend d
       JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
       JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
       JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
       JOIN pg_catalog.format_type(a.atttypid, NULL) ft(name) ON true
      WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
        AND d.deptype IN ('a', 'i') AND ft.name IN ('smallint', 'integer', 'bigint')
        AND sn.nspname <> 'pgshift'
      ORDER BY 1, 2`,
  );
  const out: SchemaDifference[] = [];
  for (const o of owned.rows) {
    if (only && !only.has(`${o.tbl_schema}.${o.tbl}`)) continue;
    const r = await target.query<{ behind: boolean; mx: string | null; next: string }>(
      `SELECT mx > nextval_floor AS behind, mx::text, nextval_floor::text AS next FROM (
         SELECT (SELECT max(${quoteIdent(o.col)})::bigint FROM ${qualified(o.tbl_schema, o.tbl)}) AS mx,
                CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS nextval_floor
           FROM ${qualified(o.seq_schema, o.seq)}) x`,
    );
    if (r.rows[0]?.behind) {
      out.push({ address: `sequence ${o.seq_schema}.${o.seq}`, kind: 'sequence_behind', detail: `its next value would not be above max(${o.tbl}.${o.col})` });
    }
  }
  return out;
}
