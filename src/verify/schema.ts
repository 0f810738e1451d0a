import type pg from 'pg';
import { sequenceAtOrPast, setvalSql, type SequencePosition } from '../catalog/sequence-value.js';
import type { Catalog } from '../catalog/types.js';
import { qualified, quoteIdent } from '../db/ident.js';
import type { Scope } from '../catalog/scope.js';
import type { SchemaDifference, VerifyFinding } from './report.js';

/**
 * Schema parity: every source object in scope is on the target with the same server-rendered definition
 * (columns, constraints, indexes, views, functions, triggers, policies, RLS flags, comments, extensions,
 * sequence values).
 *
 * Objects the plan creates that are missing or different on the target. `live` (every verification but the strict
 * one inside a freeze): sequence values are not compared. A live source's sequence moves on after apply set the
 * target's (the cutover sets every sequence from the source's final value inside the freeze, where the check is
 * strict), and a target's sequence already past the source's stays so (apply never lowers a target's sequence).
 * What matters before the cutover, a sequence that would hand out a value its column holds, is sequencesBehind's.
 */
export function schemaParity(source: Catalog, target: Catalog, scope: Scope, live = false): SchemaDifference[] {
  const t = new Map(target.objects.map((o) => [o.address, o.definition]));
  // what the plan leaves out: out of scope, or depending on something out of scope (a view over an excluded table)
  const left = new Set(source.objects.filter((o) => !scope.objectInScope(o)).map((o) => o.address));
  for (let grew = true; grew;) {
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
    else if (def !== o.definition && !(live && o.kind === 'sequence_value'))
      out.push({
        address: o.address,
        kind: 'different',
        ...(o.kind === 'sequence_value' ? { detail: `source ${o.definition}, target ${def}` } : {}),
      });
  }
  return out;
}

/** The source side of the sequence check: what the source's own sequences and columns say. */
export interface SourceSequences {
  readonly client: pg.ClientBase;
  /** The source's name of a target schema (schemas.map read backwards). */
  readonly schemaOnSource: (targetSchema: string) => string;
  /** A live source: its sequences may have moved past the target's since apply set them. */
  readonly live: boolean;
  /**
   * A change stream has applied source transactions to the target: inserted rows may pass the sequence apply set,
   * and logical decoding does not carry sequences (the cutover sets them inside the freeze).
   */
  readonly streaming?: boolean;
}

/** What the sequence check found: differences fail the verification, findings do not. */
export interface SequenceCheck {
  readonly differences: SchemaDifference[];
  readonly findings: VerifyFinding[];
}

/** The source's sequence and the max of its column, or undefined when the source cannot say (not readable there). */
async function onSource(
  source: SourceSequences,
  seq: { schema: string; name: string },
  tbl: { schema: string; name: string },
  col: string,
): Promise<(SequencePosition & { behind: boolean; max: string | null }) | undefined> {
  try {
    const r = await source.client.query<{ behind: boolean | null; mx: string | null; last: string; called: boolean }>(
      `SELECT mx > nextval_floor AS behind, mx::text AS mx, last_value::text AS last, is_called AS called FROM (
         SELECT (SELECT max(${quoteIdent(col)})::bigint FROM ${qualified(source.schemaOnSource(tbl.schema), tbl.name)}) AS mx, last_value, is_called,
                CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS nextval_floor
           FROM ${qualified(source.schemaOnSource(seq.schema), seq.name)}) x`,
    );
    const row = r.rows[0];
    return row ? { last: row.last, called: row.called, behind: row.behind === true, max: row.mx } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sequences on the target that would hand out a value its column already holds (behind max of the column). With
 * `only` (`schema.table` names), just the sequences of those tables: the migrated ones (a managed target has
 * sequences of its own, on tables the migration role may not even read).
 *
 * A difference is where the target differs from the source: when the source's own sequence is behind its own
 * column too and the target holds the source's value (or, on a live source, a value the source has since moved
 * past), the target is a faithful copy of a condition the source already has. That is a finding (a warning with the
 * setval() to run on the target after the cutover), never a difference. A target behind its rows while the source's
 * sequence is not behind stays a `sequence_behind` difference.
 */
export async function sequencesBehind(
  target: pg.ClientBase,
  only?: ReadonlySet<string>,
  source?: SourceSequences,
): Promise<SequenceCheck> {
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
  const differences: SchemaDifference[] = [];
  const findings: VerifyFinding[] = [];
  for (const o of owned.rows) {
    if (only && !only.has(`${o.tbl_schema}.${o.tbl}`)) continue;
    const r = await target.query<{ behind: boolean; mx: string | null; last: string; called: boolean }>(
      `SELECT mx > nextval_floor AS behind, mx::text, last_value::text AS last, is_called AS called FROM (
         SELECT (SELECT max(${quoteIdent(o.col)})::bigint FROM ${qualified(o.tbl_schema, o.tbl)}) AS mx, last_value, is_called,
                CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS nextval_floor
           FROM ${qualified(o.seq_schema, o.seq)}) x`,
    );
    const t = r.rows[0];
    if (!t?.behind) continue;
    const address = `sequence ${o.seq_schema}.${o.seq}`;
    const s = source
      ? await onSource(source, { schema: o.seq_schema, name: o.seq }, { schema: o.tbl_schema, name: o.tbl }, o.col)
      : undefined;
    const copied =
      s !== undefined &&
      ((sequenceAtOrPast(t, s) && sequenceAtOrPast(s, t)) || (source?.live === true && sequenceAtOrPast(s, t)));
    if (source?.live && source.streaming && s && !s.behind && t.mx !== null && BigInt(s.last) >= BigInt(t.mx)) {
      // rows the stream inserted are past the target's sequence; the source's is beyond them: the cutover sets it
      findings.push({
        code: 'SEQUENCE_BEHIND_STREAMED_ROWS',
        severity: 'warning',
        address,
        message: `its next value is not above max(${o.tbl}.${o.col}) on the target, where the change stream inserted rows (logical decoding does not carry sequences); the source's sequence is past them`,
        hint: 'Nothing to do while the application writes to the source: the cutover sets every sequence from the source inside the freeze, where verification is strict.',
      });
      continue;
    }
    if (s?.behind && copied) {
      // the column's max on either side (equal once copied; a live source may have more): an integer key, no value
      const max = [t.mx, s.max]
        .filter((m): m is string => m !== null)
        .map(BigInt)
        .reduce((a, b) => (a > b ? a : b));
      const setval = `${setvalSql({ schema: o.seq_schema, name: o.seq }, { last: max.toString(), called: true })};`;
      findings.push({
        code: 'SEQUENCE_BEHIND_ON_SOURCE',
        severity: 'warning',
        address,
        message: `its next value is not above max(${o.tbl}.${o.col}) on the source either (rows inserted there with explicit ids); the target holds the source's value, as copied. Inserts that take the sequence's next value will hit duplicate keys, on the source as on the target`,
        hint: `After the cutover, run on the target: ${setval} (earlier, the cutover would set it back from the source's). Or run the same statement on the source now; apply then carries it to the target.`,
      });
      continue;
    }
    differences.push({
      address,
      kind: 'sequence_behind',
      detail: `its next value would not be above max(${o.tbl}.${o.col})`,
    });
  }
  return { differences, findings };
}
