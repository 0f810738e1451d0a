import { address } from '../address.js';
import { readSequencePositions } from '../sequence-value.js';
import { sequenceOptions } from '../kinds/sequence.js';
import type { AclItem } from '../types.js';
import { aclOf, aclSql, rows, type ReadContext } from './context.js';

interface SequenceRow {
  oid: number;
  nspname: string;
  relname: string;
  relpersistence: string;
  type: string;
  start: string;
  increment: string;
  min: string;
  max: string;
  cache: string;
  cycle: boolean;
  readable: boolean;
  owner: string | null;
  acl: AclItem[] | null;
  /** 'a' (OWNED BY, serial) or 'i' (identity) */
  deptype: 'a' | 'i' | null;
  table_oid: number | null;
  table_schema: string | null;
  table_name: string | null;
  column_name: string | null;
  attnum: number | null;
}

/** A sequence whose value is read after the tables (sequence_value objects). */
export interface ValueSequence {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  /** the sequence's address, or the identity column's table */
  readonly dependsOn: string;
  readonly table: { readonly schema: string; readonly name: string } | null;
}

/**
 * Sequences with all their options; identity sequences are not objects of their own (the table's identity column
 * creates them) but are remembered for the table reader. Returns the sequences whose values are read later.
 */
export async function readSequences(ctx: ReadContext): Promise<ValueSequence[]> {
  const list = await rows<SequenceRow>(
    ctx,
    `SELECT c.oid, n.nspname, c.relname, c.relpersistence, pg_catalog.format_type(s.seqtypid, NULL) AS type,
            s.seqstart::pg_catalog.text AS start, s.seqincrement::pg_catalog.text AS increment,
            s.seqmin::pg_catalog.text AS min, s.seqmax::pg_catalog.text AS max, s.seqcache::pg_catalog.text AS cache, s.seqcycle AS cycle,
            pg_catalog.has_sequence_privilege(c.oid, 'SELECT') AS readable,
            pg_catalog.pg_get_userbyid(c.relowner) AS owner, ${aclSql('c.relacl')} AS acl,
            d.deptype, t.oid AS table_oid, tn.nspname AS table_schema, t.relname AS table_name, a.attname AS column_name, a.attnum
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
       LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
            AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
       LEFT JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
       LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
       LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE c.relkind = 'S' AND c.relnamespace = ANY ($1::pg_catalog.oid[])`,
    [ctx.nsOids],
  );
  const values: ValueSequence[] = [];
  for (const s of list) {
    if (ctx.b.isMember('pg_class', s.oid)) continue;
    if (
      s.deptype === 'i' &&
      s.table_oid !== null &&
      s.attnum !== null &&
      s.table_schema !== null &&
      s.table_name !== null
    ) {
      ctx.identity.set(`${s.table_oid}:${s.attnum}`, {
        oid: s.oid,
        schema: s.nspname,
        name: s.relname,
        options: sequenceOptions(s),
      });
      const tableAddr = address.table(s.table_schema, s.table_name);
      ctx.b.own('pg_class', s.oid, tableAddr);
      if (s.readable)
        values.push({
          oid: s.oid,
          schema: s.nspname,
          name: s.relname,
          dependsOn: tableAddr,
          table: { schema: s.table_schema, name: s.table_name },
        });
      continue;
    }
    const addr = address.sequence(s.nspname, s.relname);
    ctx.b.add({
      kind: 'sequence',
      spec: {
        unlogged: s.relpersistence === 'u',
        type: s.type,
        start: s.start,
        increment: s.increment,
        min: s.min,
        max: s.max,
        cache: s.cache,
        cycle: s.cycle,
      },
      address: addr,
      schema: s.nspname,
      name: s.relname,
      deps: [address.schema(s.nspname)],
      owner: s.owner,
      acl: aclOf(s.acl),
    });
    ctx.b.own('pg_class', s.oid, addr);
    ctx.b.commentable('pg_class', s.oid, {
      target: addr,
      on: { on: 'SEQUENCE', object: { schema: s.nspname, name: s.relname } },
      dependsOn: addr,
      schema: s.nspname,
      table: null,
    });
    if (s.readable) values.push({ oid: s.oid, schema: s.nspname, name: s.relname, dependsOn: addr, table: null });
    if (s.deptype === 'a' && s.table_schema !== null && s.table_name !== null && s.column_name !== null) {
      const tableAddr = address.table(s.table_schema, s.table_name);
      ctx.b.add({
        kind: 'sequence_owner',
        spec: { column: s.column_name },
        address: address.sequenceOwner(s.nspname, s.relname),
        schema: s.nspname,
        name: s.relname,
        table: { schema: s.table_schema, name: s.table_name },
        deps: [addr, tableAddr],
      });
    }
  }
  return values;
}

/**
 * sequence_value objects: last_value and is_called of every readable sequence, read in one UNION ALL query (a
 * sequence is a relation of its own: there is no catalog view with is_called for all of them).
 */
export async function readSequenceValues(ctx: ReadContext, sequences: readonly ValueSequence[]): Promise<void> {
  const positions = await readSequencePositions(ctx.client, sequences);
  sequences.forEach((s, i) => {
    const pos = positions[i];
    if (!pos) return;
    ctx.b.add({
      kind: 'sequence_value',
      spec: pos,
      address: address.sequenceValue(s.schema, s.name),
      schema: s.schema,
      name: s.name,
      table: s.table,
      deps: [s.dependsOn],
    });
  });
}
