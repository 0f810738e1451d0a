import { address } from '../address.js';
import { qualified, quoteIdent, quoteLiteral } from '../../db/ident.js';
import { aclOf, rows, type ReadContext } from './context.js';

interface QName {
  schema: string;
  name: string;
}

interface TypeRow {
  oid: number;
  typarray: number;
  typrelid: number;
  nspname: string;
  typname: string;
  typtype: 'e' | 'd' | 'c' | 'r';
  owner: string | null;
  acl: string[] | null;
  labels: string[] | null;
  base_type: string | null;
  notnull: boolean;
  default_expr: string | null;
  collation: QName | null;
  checks: { oid: number; name: string; def: string; validated: boolean }[] | null;
  attrs: { attnum: number; name: string; type: string; collation: QName | null }[] | null;
  subtype: string | null;
  opclass: QName | null;
  range_collation: QName | null;
  canonical: QName | null;
  subdiff: QName | null;
  multirange: QName | null;
  multirange_oid: number | null;
  multirange_array: number | null;
}

/** json_build_object('schema', ..., 'name', ...) of a pg_catalog row referenced by OID, or NULL. */
function qnameOf(catalog: 'pg_collation' | 'pg_opclass' | 'pg_proc' | 'pg_type', nameCol: string, nsCol: string, oidExpr: string): string {
  return `(SELECT pg_catalog.json_build_object('schema', x_n.nspname, 'name', x.${nameCol})
             FROM pg_catalog.${catalog} x JOIN pg_catalog.pg_namespace x_n ON x_n.oid = x.${nsCol}
            WHERE x.oid = ${oidExpr})`;
}

const collationName = (c: QName | null): string => (c ? ` COLLATE ${qualified(c.schema, c.name)}` : '');

/** Enums, domains (constraints, NOT NULL, default, collation), composite and range types. */
export async function readTypes(ctx: ReadContext): Promise<void> {
  const list = await rows<TypeRow>(
    ctx,
    `SELECT t.oid, t.typarray, t.typrelid, n.nspname, t.typname, t.typtype,
            pg_catalog.pg_get_userbyid(t.typowner) AS owner, t.typacl::pg_catalog.text[] AS acl,
            (SELECT pg_catalog.array_agg(e.enumlabel::pg_catalog.text ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) AS labels,
            CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END AS base_type,
            t.typnotnull AS notnull,
            pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS default_expr,
            CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN ${qnameOf('pg_collation', 'collname', 'collnamespace', 't.typcollation')} END AS collation,
            (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('oid', c.oid::pg_catalog.int8, 'name', c.conname, 'def', pg_catalog.pg_get_constraintdef(c.oid), 'validated', c.convalidated) ORDER BY c.conname)
               FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c') AS checks,
            (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('attnum', a.attnum, 'name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
                      'collation', CASE WHEN a.attcollation <> at.typcollation THEN ${qnameOf('pg_collation', 'collname', 'collnamespace', 'a.attcollation')} END) ORDER BY a.attnum)
               FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
              WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) AS attrs,
            pg_catalog.format_type(r.rngsubtype, NULL) AS subtype,
            CASE WHEN r.rngsubopc IS NOT NULL AND NOT (SELECT o.opcdefault FROM pg_catalog.pg_opclass o WHERE o.oid = r.rngsubopc)
                 THEN ${qnameOf('pg_opclass', 'opcname', 'opcnamespace', 'r.rngsubopc')} END AS opclass,
            CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation THEN ${qnameOf('pg_collation', 'collname', 'collnamespace', 'r.rngcollation')} END AS range_collation,
            ${qnameOf('pg_proc', 'proname', 'pronamespace', 'r.rngcanonical')} AS canonical,
            ${qnameOf('pg_proc', 'proname', 'pronamespace', 'r.rngsubdiff')} AS subdiff,
            ${qnameOf('pg_type', 'typname', 'typnamespace', 'r.rngmultitypid')} AS multirange,
            r.rngmultitypid AS multirange_oid,
            (SELECT m.typarray FROM pg_catalog.pg_type m WHERE m.oid = r.rngmultitypid) AS multirange_array
       FROM pg_catalog.pg_type t
       JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
       LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid
       LEFT JOIN pg_catalog.pg_type st ON st.oid = r.rngsubtype
      WHERE t.typnamespace = ANY ($1::pg_catalog.oid[])
        AND (t.typtype IN ('e', 'd', 'r')
             OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c'))`,
    [ctx.nsOids],
  );

  for (const t of list) {
    if (ctx.b.isMember('pg_type', t.oid)) continue;
    const addr = address.type(t.nspname, t.typname);
    const q = qualified(t.nspname, t.typname);
    const sql: string[] = [];
    switch (t.typtype) {
      case 'e':
        sql.push(`CREATE TYPE ${q} AS ENUM (${(t.labels ?? []).map(quoteLiteral).join(', ')})`);
        break;
      case 'd': {
        const checks = t.checks ?? [];
        let s = `CREATE DOMAIN ${q} AS ${t.base_type ?? ''}${collationName(t.collation)}`;
        if (t.default_expr !== null) s += ` DEFAULT ${t.default_expr}`;
        if (t.notnull) s += ' NOT NULL';
        for (const c of checks) if (c.validated) s += ` CONSTRAINT ${quoteIdent(c.name)} ${c.def}`;
        sql.push(s);
        for (const c of checks) if (!c.validated) sql.push(`ALTER DOMAIN ${q} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
        for (const c of checks) {
          ctx.b.own('pg_constraint', c.oid, addr);
          const target = address.constraint(t.nspname, t.typname, c.name);
          ctx.b.commentable('pg_constraint', c.oid, { target, on: `CONSTRAINT ${quoteIdent(c.name)} ON DOMAIN ${q}`, dependsOn: addr, schema: t.nspname, table: null });
        }
        break;
      }
      case 'c': {
        const attrs = (t.attrs ?? []).map((a) => `${quoteIdent(a.name)} ${a.type}${collationName(a.collation)}`);
        sql.push(`CREATE TYPE ${q} AS (${attrs.join(', ')})`);
        ctx.b.own('pg_class', t.typrelid, addr);
        ctx.relations.set(t.typrelid, { oid: t.typrelid, schema: t.nspname, name: t.typname, address: addr, sqlKind: 'TYPE' });
        for (const a of t.attrs ?? []) ctx.columnNames.set(`${t.typrelid}:${a.attnum}`, a.name);
        break;
      }
      case 'r': {
        const opts = [`SUBTYPE = ${t.subtype ?? ''}`];
        if (t.opclass) opts.push(`SUBTYPE_OPCLASS = ${qualified(t.opclass.schema, t.opclass.name)}`);
        if (t.range_collation) opts.push(`COLLATION = ${qualified(t.range_collation.schema, t.range_collation.name)}`);
        if (t.canonical) opts.push(`CANONICAL = ${qualified(t.canonical.schema, t.canonical.name)}`);
        if (t.subdiff) opts.push(`SUBTYPE_DIFF = ${qualified(t.subdiff.schema, t.subdiff.name)}`);
        if (t.multirange) opts.push(`MULTIRANGE_TYPE_NAME = ${qualified(t.multirange.schema, t.multirange.name)}`);
        sql.push(`CREATE TYPE ${q} AS RANGE (${opts.join(', ')})`);
        ctx.b.own('pg_type', t.multirange_oid, addr);
        ctx.b.own('pg_type', t.multirange_array, addr);
        break;
      }
    }
    ctx.b.add({
      kind: 'type',
      address: addr,
      schema: t.nspname,
      name: t.typname,
      createSql: sql,
      definition: sql.join(';\n'),
      deps: [address.schema(t.nspname)],
      owner: t.owner,
      acl: aclOf(t.acl),
    });
    ctx.b.own('pg_type', t.oid, addr);
    ctx.b.commentable('pg_type', t.oid, { target: addr, on: `${t.typtype === 'd' ? 'DOMAIN' : 'TYPE'} ${q}`, dependsOn: addr, schema: t.nspname, table: null });
    ctx.b.own('pg_type', t.typarray, addr);
  }
}
