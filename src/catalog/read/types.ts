import { address } from '../address.js';
import type { TypeSpec } from '../kinds/type.js';
import type { AclItem } from '../types.js';
import { aclOf, aclSql, rows, type ReadContext } from './context.js';

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
  acl: AclItem[] | null;
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
function qnameOf(
  catalog: 'pg_collation' | 'pg_opclass' | 'pg_proc' | 'pg_type',
  nameCol: string,
  nsCol: string,
  oidExpr: string,
): string {
  return `(SELECT pg_catalog.json_build_object('schema', x_n.nspname, 'name', x.${nameCol})
             FROM pg_catalog.${catalog} x JOIN pg_catalog.pg_namespace x_n ON x_n.oid = x.${nsCol}
            WHERE x.oid = ${oidExpr})`;
}

/** Enums, domains (constraints, NOT NULL, default, collation), composite and range types. */
export async function readTypes(ctx: ReadContext): Promise<void> {
  const list = await rows<TypeRow>(
    ctx,
    `SELECT t.oid, t.typarray, t.typrelid, n.nspname, t.typname, t.typtype,
            pg_catalog.pg_get_userbyid(t.typowner) AS owner, ${aclSql('t.typacl')} AS acl,
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
    let spec: TypeSpec;
    switch (t.typtype) {
      case 'e':
        spec = { variant: 'enum', labels: t.labels ?? [] };
        break;
      case 'd': {
        const checks = t.checks ?? [];
        spec = {
          variant: 'domain',
          baseType: t.base_type ?? '',
          collation: t.collation,
          default: t.default_expr,
          notNull: t.notnull,
          checks: checks.map((c) => ({ name: c.name, def: c.def, validated: c.validated })),
        };
        for (const c of checks) {
          ctx.b.own('pg_constraint', c.oid, addr);
          const target = address.constraint(t.nspname, t.typname, c.name);
          const on = {
            on: 'CONSTRAINT',
            name: c.name,
            relation: { schema: t.nspname, name: t.typname },
            domain: true,
          } as const;
          ctx.b.commentable('pg_constraint', c.oid, { target, on, dependsOn: addr, schema: t.nspname, table: null });
        }
        break;
      }
      case 'c': {
        spec = {
          variant: 'composite',
          attributes: (t.attrs ?? []).map((a) => ({ name: a.name, type: a.type, collation: a.collation })),
        };
        ctx.b.own('pg_class', t.typrelid, addr);
        ctx.relations.set(t.typrelid, {
          oid: t.typrelid,
          schema: t.nspname,
          name: t.typname,
          address: addr,
          sqlKind: 'TYPE',
        });
        for (const a of t.attrs ?? []) ctx.columnNames.set(`${t.typrelid}:${a.attnum}`, a.name);
        break;
      }
      case 'r': {
        spec = {
          variant: 'range',
          subtype: t.subtype ?? '',
          opclass: t.opclass,
          collation: t.range_collation,
          canonical: t.canonical,
          subdiff: t.subdiff,
          multirange: t.multirange,
        };
        ctx.b.own('pg_type', t.multirange_oid, addr);
        ctx.b.own('pg_type', t.multirange_array, addr);
        break;
      }
    }
    ctx.b.add({
      kind: 'type',
      spec,
      address: addr,
      schema: t.nspname,
      name: t.typname,
      deps: [address.schema(t.nspname)],
      owner: t.owner,
      acl: aclOf(t.acl),
    });
    ctx.b.own('pg_type', t.oid, addr);
    ctx.b.commentable('pg_type', t.oid, {
      target: addr,
      on: { on: t.typtype === 'd' ? 'DOMAIN' : 'TYPE', object: { schema: t.nspname, name: t.typname } },
      dependsOn: addr,
      schema: t.nspname,
      table: null,
    });
    ctx.b.own('pg_type', t.typarray, addr);
  }
}
