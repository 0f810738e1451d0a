import { address } from '../address.js';
import type { AclItem } from '../types.js';
import { aclOf, aclSql, rows, type ReadContext } from './context.js';

interface SchemaRow {
  oid: number;
  nspname: string;
  owner: string | null;
  acl: AclItem[] | null;
}

/** The schemas read: every one except the system ones, pgshift's own and the excluded ones. */
export async function listSchemas(client: ReadContext['client'], excluded: readonly string[]): Promise<SchemaRow[]> {
  const res = await client.query<SchemaRow>(
    `SELECT n.oid, n.nspname, pg_catalog.pg_get_userbyid(n.nspowner) AS owner, ${aclSql('n.nspacl')} AS acl
       FROM pg_catalog.pg_namespace n
      WHERE NOT (n.nspname = ANY ($1::pg_catalog.text[]))
        AND n.nspname !~ '^pg_(toast|temp)'
      ORDER BY n.nspname`,
    [excluded],
  );
  return res.rows;
}

/** Schemas (CREATE SCHEMA IF NOT EXISTS, so `public` is harmless) and extensions; marks extension members. */
export async function readSchemasAndExtensions(ctx: ReadContext, schemas: readonly SchemaRow[]): Promise<void> {
  const members = await rows<{ cls: string; objid: number; extname: string }>(
    ctx,
    `SELECT d.classid::pg_catalog.regclass::pg_catalog.text AS cls, d.objid, e.extname
       FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
      WHERE d.deptype = 'e' AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass`,
  );
  for (const m of members) ctx.b.markMember(m.cls, m.objid, address.extension(m.extname));

  for (const s of schemas) {
    if (ctx.b.isMember('pg_namespace', s.oid)) continue; // created by an extension script
    const addr = address.schema(s.nspname);
    ctx.b.add({
      kind: 'schema',
      spec: {},
      address: addr,
      schema: null,
      name: s.nspname,
      owner: s.owner,
      acl: aclOf(s.acl),
    });
    ctx.b.own('pg_namespace', s.oid, addr);
    ctx.b.commentable('pg_namespace', s.oid, {
      target: addr,
      on: { on: 'SCHEMA', name: s.nspname },
      dependsOn: addr,
      schema: null,
      table: null,
    });
  }

  const exts = await rows<{ oid: number; extname: string; nspname: string; owner: string | null }>(
    ctx,
    `SELECT e.oid, e.extname, n.nspname, pg_catalog.pg_get_userbyid(e.extowner) AS owner
       FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extnamespace = ANY ($1::pg_catalog.oid[])`,
    [ctx.nsOids],
  );
  for (const e of exts) {
    const addr = address.extension(e.extname);
    ctx.b.add({
      kind: 'extension',
      spec: { createSchema: false },
      address: addr,
      schema: e.nspname,
      name: e.extname,
      deps: [address.schema(e.nspname)],
      owner: e.owner,
    });
    ctx.b.own('pg_extension', e.oid, addr);
  }
  ctx.b.ownMembers();
}
