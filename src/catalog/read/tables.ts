import { address } from '../address.js';
import type { AclItem, ColumnInfo } from '../types.js';
import { qualified } from '../../db/ident.js';
import { aclOf, aclSql, rows, type IdentitySequence, type ReadContext } from './context.js';
import type { ColumnFixup, ColumnSpec, TableSpec } from '../kinds/table.js';

interface QName {
  schema: string;
  name: string;
}

interface TableRow {
  oid: number;
  nspname: string;
  relname: string;
  relkind: 'r' | 'p';
  relpersistence: string;
  relispartition: boolean;
  relrowsecurity: boolean;
  relforcerowsecurity: boolean;
  relreplident: string;
  reloptions: string[] | null;
  reltype: number;
  reltype_array: number | null;
  reltuples: number;
  bytes: string;
  partkey: string | null;
  bound: string | null;
  am: string | null;
  parents: (QName & { oid: number })[] | null;
  has_triggers: boolean;
  owner: string | null;
  acl: AclItem[] | null;
}

export interface ColumnRow {
  attrelid: number;
  attnum: number;
  attname: string;
  type: string;
  typname: string;
  typschema: string;
  sendfn: string | null;
  typtype: string;
  basetype: string | null;
  attnotnull: boolean;
  attidentity: '' | 'a' | 'd';
  attgenerated: '' | 's';
  attislocal: boolean;
  attrdef_oid: number | null;
  expr: string | null;
  collation: QName | null;
}

interface ConstraintRow {
  oid: number;
  conname: string;
  contype: 'c' | 'p' | 'u' | 'x' | 'f';
  conrelid: number;
  def: string;
  convalidated: boolean;
  conislocal: boolean;
  conparentid: number;
  /** pg_get_indexdef() of a primary key's or unique constraint's index, when it can be built first (ConstraintSpec). */
  index_def: string | null;
}

/** Columns of every table, view and materialized view read, in attnum order. */
export async function readColumns(ctx: ReadContext): Promise<Map<number, ColumnRow[]>> {
  const list = await rows<ColumnRow>(
    ctx,
    `SELECT a.attrelid, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
            t.typname, tn.nspname AS typschema,
            (SELECT sp.proname FROM pg_catalog.pg_proc sp WHERE sp.oid = t.typsend
                AND sp.pronamespace = 'pg_catalog'::pg_catalog.regnamespace) AS sendfn,
            t.typtype::pg_catalog.text AS typtype,
            (SELECT bn.nspname || '.' || bt.typname FROM pg_catalog.pg_type bt
               JOIN pg_catalog.pg_namespace bn ON bn.oid = bt.typnamespace WHERE bt.oid = t.typbasetype) AS basetype,
            a.attnotnull, a.attidentity, a.attgenerated, a.attislocal,
            ad.oid AS attrdef_oid, pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS expr,
            CASE WHEN a.attcollation <> t.typcollation THEN
              (SELECT pg_catalog.json_build_object('schema', cn.nspname, 'name', co.collname)
                 FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
                WHERE co.oid = a.attcollation) END AS collation
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
       JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
       LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
      WHERE c.relkind IN ('r', 'p', 'v', 'm') AND c.relnamespace = ANY ($1::pg_catalog.oid[])
        AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [ctx.nsOids],
  );
  const byRel = new Map<number, ColumnRow[]>();
  for (const c of list) {
    let cols = byRel.get(c.attrelid);
    if (!cols) byRel.set(c.attrelid, (cols = []));
    cols.push(c);
  }
  return byRel;
}

/** A column's typed fields (its identity sequence's name and options from the sequences read before). */
function columnSpec(c: ColumnRow, identity: IdentitySequence | undefined): ColumnSpec {
  const generated = c.attgenerated === 's' ? (c.expr ?? '') : null;
  const ident =
    generated === null && c.attidentity !== ''
      ? {
          always: c.attidentity === 'a',
          sequence: identity ? { schema: identity.schema, name: identity.name, options: identity.options } : null,
        }
      : null;
  return {
    name: c.attname,
    type: c.type,
    collation: c.collation,
    generated,
    identity: ident,
    default: generated === null && ident === null ? c.expr : null,
    notNull: c.attnotnull,
    local: c.attislocal,
  };
}

/**
 * PARTITION OF and INHERITS copy the parent's defaults and NOT NULLs into the child: the ALTERs that put the
 * child's own ones back where they differ.
 */
function inheritedFixups(
  cols: readonly ColumnRow[],
  parentColumn: (name: string) => ColumnRow | undefined,
): ColumnFixup[] {
  const out: ColumnFixup[] = [];
  for (const c of cols) {
    const p = parentColumn(c.attname);
    if (!p || c.attgenerated !== '' || c.attidentity !== '') continue;
    if (c.expr !== p.expr)
      out.push(
        c.expr === null
          ? { column: c.attname, set: 'no default' }
          : { column: c.attname, set: 'default', expr: c.expr },
      );
    if (c.attnotnull && !p.attnotnull) out.push({ column: c.attname, set: 'not null' });
  }
  return out;
}

const REPLICA_IDENTITY: Record<string, 'NOTHING' | 'FULL'> = { n: 'NOTHING', f: 'FULL' };

/**
 * Tables, partitioned tables and partitions (columns, defaults, identity, generated columns, inline CHECKs,
 * partitioning, INHERITS), their post-data constraints (PK, unique, exclusion, FK, NOT VALID checks) and RLS flags.
 */
export async function readTables(ctx: ReadContext, columns: Map<number, ColumnRow[]>): Promise<void> {
  const tables = await rows<TableRow>(
    ctx,
    `SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence, c.relispartition,
            c.relrowsecurity, c.relforcerowsecurity, c.relreplident, c.reloptions,
            c.reltype, (SELECT t.typarray FROM pg_catalog.pg_type t WHERE t.oid = c.reltype) AS reltype_array,
            c.reltuples::pg_catalog.float8 AS reltuples, pg_catalog.pg_table_size(c.oid)::pg_catalog.text AS bytes,
            CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partkey,
            CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS bound,
            CASE WHEN am.amname <> 'heap' THEN am.amname END AS am,
            (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('oid', p.oid::pg_catalog.int8, 'schema', pn.nspname, 'name', p.relname) ORDER BY i.inhseqno)
               FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
               JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
              WHERE i.inhrelid = c.oid) AS parents,
            EXISTS (SELECT 1 FROM pg_catalog.pg_trigger tg WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal) AS has_triggers,
            pg_catalog.pg_get_userbyid(c.relowner) AS owner, ${aclSql('c.relacl')} AS acl
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
      WHERE c.relkind IN ('r', 'p') AND c.relnamespace = ANY ($1::pg_catalog.oid[])`,
    [ctx.nsOids],
  );
  const constraints = await rows<ConstraintRow>(
    ctx,
    `SELECT co.oid, co.conname, co.contype, co.conrelid, pg_catalog.pg_get_constraintdef(co.oid) AS def,
            co.convalidated, co.conislocal, co.conparentid,
            CASE WHEN co.contype IN ('p', 'u') AND c.relkind = 'r' AND NOT c.relispartition AND NOT co.condeferrable
                      AND ci.reltablespace = 0 AND ci.relname = co.conname
                 THEN pg_catalog.pg_get_indexdef(co.conindid) END AS index_def
       FROM pg_catalog.pg_constraint co
       JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
       LEFT JOIN pg_catalog.pg_class ci ON ci.oid = co.conindid
      WHERE c.relkind IN ('r', 'p') AND c.relnamespace = ANY ($1::pg_catalog.oid[])
        AND co.contype IN ('c', 'p', 'u', 'x', 'f')
      ORDER BY co.conrelid, co.conname`,
    [ctx.nsOids],
  );
  const checksByRel = new Map<number, ConstraintRow[]>();
  for (const c of constraints) {
    if (c.contype !== 'c' || !c.convalidated || !c.conislocal) continue;
    let list = checksByRel.get(c.conrelid);
    if (!list) checksByRel.set(c.conrelid, (list = []));
    list.push(c);
  }

  const listed = tables.filter((t) => !ctx.b.isMember('pg_class', t.oid));
  for (const t of listed) {
    const addr = address.table(t.nspname, t.relname);
    ctx.relations.set(t.oid, { oid: t.oid, schema: t.nspname, name: t.relname, address: addr, sqlKind: 'TABLE' });
  }
  const colsOf = (oid: number): ColumnRow[] => columns.get(oid) ?? [];

  for (const t of listed) {
    const addr = address.table(t.nspname, t.relname);
    const cols = colsOf(t.oid);
    const checks = checksByRel.get(t.oid) ?? [];
    const parents = t.parents ?? [];
    const partitionParent = t.relispartition ? parents[0] : undefined;
    const identityOf = (c: ColumnRow): IdentitySequence | undefined => ctx.identity.get(`${t.oid}:${c.attnum}`);
    let columns: ColumnSpec[];
    let fixups: ColumnFixup[] = [];
    if (partitionParent) {
      const parentCols = new Map(colsOf(partitionParent.oid).map((c, i) => [c.attname, { c, i }]));
      fixups = inheritedFixups(cols, (name) => parentCols.get(name)?.c);
      // the definition lists the columns in the parent's order: a partition attached after the fact may differ
      const ordered = [...cols].sort(
        (a, b) => (parentCols.get(a.attname)?.i ?? 1e6 + a.attnum) - (parentCols.get(b.attname)?.i ?? 1e6 + b.attnum),
      );
      columns = ordered.map((c) => columnSpec(c, identityOf(c)));
    } else {
      columns = cols.map((c) => columnSpec(c, identityOf(c)));
      if (parents.length > 0) {
        const inherited = (name: string): ColumnRow | undefined => {
          for (const p of parents) {
            const c = colsOf(p.oid).find((x) => x.attname === name);
            if (c) return c;
          }
          return undefined;
        };
        fixups = inheritedFixups(
          cols.filter((c) => !c.attislocal),
          inherited,
        );
      }
    }
    const spec: TableSpec = {
      unlogged: t.relpersistence === 'u',
      partitionOf: partitionParent
        ? { parent: { schema: partitionParent.schema, name: partitionParent.name }, bound: t.bound }
        : null,
      inherits: partitionParent ? [] : parents.map((p) => ({ schema: p.schema, name: p.name })),
      columns,
      checks: checks.map((c) => ({ name: c.conname, def: c.def })),
      partitionBy: t.partkey,
      accessMethod: t.am,
      reloptions: t.reloptions,
      fixups,
      replicaIdentity: REPLICA_IDENTITY[t.relreplident] ?? null,
      enableRls: false,
    };

    ctx.b.add({
      kind: 'table',
      spec,
      address: addr,
      schema: t.nspname,
      name: t.relname,
      deps: [address.schema(t.nspname), ...parents.map((p) => address.table(p.schema, p.name))],
      owner: t.owner,
      acl: aclOf(t.acl),
    });
    ctx.b.own('pg_class', t.oid, addr);
    ctx.b.own('pg_type', t.reltype, addr);
    ctx.b.own('pg_type', t.reltype_array, addr);
    ctx.b.commentable('pg_class', t.oid, {
      target: addr,
      on: { on: 'TABLE', object: { schema: t.nspname, name: t.relname } },
      dependsOn: addr,
      schema: t.nspname,
      table: { schema: t.nspname, name: t.relname },
    });
    for (const c of cols) {
      ctx.b.own('pg_attrdef', c.attrdef_oid, addr);
      ctx.columnNames.set(`${t.oid}:${c.attnum}`, c.attname);
    }
    for (const c of checks) {
      ctx.b.own('pg_constraint', c.oid, addr);
      const target = address.constraint(t.nspname, t.relname, c.conname);
      ctx.b.commentable('pg_constraint', c.oid, {
        target,
        on: { on: 'CONSTRAINT', name: c.conname, relation: { schema: t.nspname, name: t.relname } },
        dependsOn: addr,
        schema: t.nspname,
        table: { schema: t.nspname, name: t.relname },
      });
    }

    if (t.relrowsecurity || t.relforcerowsecurity) {
      ctx.b.add({
        kind: 'rls',
        spec: { enable: t.relrowsecurity, force: t.relforcerowsecurity },
        address: address.rls(t.nspname, t.relname),
        schema: t.nspname,
        name: t.relname,
        table: { schema: t.nspname, name: t.relname },
        deps: [addr],
      });
    }

    const columnInfos: ColumnInfo[] = cols.map((c) => ({
      name: c.attname,
      attnum: c.attnum,
      type: c.type,
      typeName: c.typname,
      typeSchema: c.typschema,
      sendFunction: c.sendfn,
      typeKind: c.typtype,
      ...(c.basetype ? { baseType: c.basetype } : {}),
      notNull: c.attnotnull,
      default: c.attgenerated === '' ? c.expr : null,
      identity: c.attidentity === 'a' ? 'always' : c.attidentity === 'd' ? 'by default' : null,
      generated: c.attgenerated === 's' ? c.expr : null,
      collation: c.collation ? qualified(c.collation.schema, c.collation.name) : null,
    }));
    ctx.tables.set(t.oid, {
      info: {
        schema: t.nspname,
        name: t.relname,
        address: addr,
        kind: t.relkind === 'p' ? 'partitioned' : t.relispartition ? 'partition' : 'table',
        parent: partitionParent ? { schema: partitionParent.schema, name: partitionParent.name } : null,
        columns: columnInfos,
        estimatedRows: t.reltuples < 0 ? 0 : Math.round(t.reltuples),
        estimatedBytes: Number(t.bytes),
        hasTriggers: t.has_triggers,
      },
      key: null,
      keyKind: null,
    });
  }

  // post-data constraints: PK, unique, exclusion, FK, NOT VALID checks (not the copies a partition inherits)
  for (const c of constraints) {
    const rel = ctx.relations.get(c.conrelid);
    if (!rel || c.conparentid !== 0 || !c.conislocal) continue;
    if (c.contype === 'c' && c.convalidated) continue; // inline in CREATE TABLE
    const addr = address.constraint(rel.schema, rel.name, c.conname);
    ctx.b.add({
      kind: 'constraint',
      spec: {
        def: c.def,
        replicaIdentityIndex: null,
        usingIndex:
          c.index_def !== null && (c.contype === 'p' || c.contype === 'u')
            ? { def: c.index_def, type: c.contype === 'p' ? 'PRIMARY KEY' : 'UNIQUE' }
            : null,
      },
      address: addr,
      schema: rel.schema,
      name: c.conname,
      table: { schema: rel.schema, name: rel.name },
      deps: [rel.address],
    });
    ctx.b.own('pg_constraint', c.oid, addr);
    ctx.b.commentable('pg_constraint', c.oid, {
      target: addr,
      on: { on: 'CONSTRAINT', name: c.conname, relation: { schema: rel.schema, name: rel.name } },
      dependsOn: addr,
      schema: rel.schema,
      table: { schema: rel.schema, name: rel.name },
    });
  }
}
