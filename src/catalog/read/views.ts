import { address } from '../address.js';
import { normalizeViewDefinitionPre16 } from '../view-normalize.js';
import type { AclItem } from '../types.js';
import { aclOf, aclSql, rows, type ReadContext } from './context.js';

interface ViewRow {
  oid: number;
  nspname: string;
  relname: string;
  relkind: 'v' | 'm';
  def: string;
  reloptions: string[] | null;
  relispopulated: boolean;
  reltype: number;
  reltype_array: number | null;
  rule_oid: number | null;
  owner: string | null;
  acl: AclItem[] | null;
}

/** Views (with their options) and materialized views (WITH NO DATA, then REFRESH when populated on the source). */
export async function readViews(
  ctx: ReadContext,
  columnNames: Map<number, { attnum: number; attname: string }[]>,
): Promise<void> {
  const list = await rows<ViewRow>(
    ctx,
    `SELECT c.oid, n.nspname, c.relname, c.relkind, pg_catalog.pg_get_viewdef(c.oid) AS def, c.reloptions, c.relispopulated,
            c.reltype, (SELECT t.typarray FROM pg_catalog.pg_type t WHERE t.oid = c.reltype) AS reltype_array,
            (SELECT r.oid FROM pg_catalog.pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename = '_RETURN') AS rule_oid,
            pg_catalog.pg_get_userbyid(c.relowner) AS owner, ${aclSql('c.relacl')} AS acl
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('v', 'm') AND c.relnamespace = ANY ($1::pg_catalog.oid[])`,
    [ctx.nsOids],
  );
  for (const v of list) {
    if (ctx.b.isMember('pg_class', v.oid)) continue;
    const body = v.def.trim().replace(/;$/, '');
    const canonical = ctx.versionNum < 160000 ? normalizeViewDefinitionPre16(body) : body;
    const materialized = v.relkind === 'm';
    const addr = materialized ? address.materializedView(v.nspname, v.relname) : address.view(v.nspname, v.relname);
    const spec = {
      reloptions: v.reloptions,
      query: body,
      canonicalQuery: canonical === body ? null : canonical,
      populated: materialized && v.relispopulated,
      revokeFrom: [],
    };
    ctx.b.add({
      ...(materialized ? { kind: 'materialized_view' as const, spec } : { kind: 'view' as const, spec }),
      address: addr,
      schema: v.nspname,
      name: v.relname,
      deps: [address.schema(v.nspname)],
      owner: v.owner,
      acl: aclOf(v.acl),
    });
    ctx.b.own('pg_class', v.oid, addr);
    ctx.b.own('pg_rewrite', v.rule_oid, addr);
    ctx.b.own('pg_type', v.reltype, addr);
    ctx.b.own('pg_type', v.reltype_array, addr);
    const sqlKind = materialized ? 'MATERIALIZED VIEW' : 'VIEW';
    ctx.relations.set(v.oid, { oid: v.oid, schema: v.nspname, name: v.relname, address: addr, sqlKind });
    ctx.b.commentable('pg_class', v.oid, {
      target: addr,
      on: { on: sqlKind, object: { schema: v.nspname, name: v.relname } },
      dependsOn: addr,
      schema: v.nspname,
      table: null,
    });
    for (const c of columnNames.get(v.oid) ?? []) ctx.columnNames.set(`${v.oid}:${c.attnum}`, c.attname);
  }
}
