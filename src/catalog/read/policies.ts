import { address } from '../address.js';
import type { PolicyCommand } from '../kinds/policy.js';
import { rows, type ReadContext } from './context.js';

interface PolicyRow {
  oid: number;
  polname: string;
  polrelid: number;
  polcmd: 'r' | 'a' | 'w' | 'd' | '*';
  polpermissive: boolean;
  roles: string[] | null;
  to_public: boolean;
  qual: string | null;
  withcheck: string | null;
}

const COMMAND: Record<string, PolicyCommand> = { r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', '*': 'ALL' };

/** Row-level security policies, built from pg_policy. */
export async function readPolicies(ctx: ReadContext): Promise<void> {
  const list = await rows<PolicyRow>(
    ctx,
    `SELECT p.oid, p.polname, p.polrelid, p.polcmd, p.polpermissive,
            (SELECT pg_catalog.array_agg(r.rolname::pg_catalog.text ORDER BY r.rolname) FROM pg_catalog.pg_roles r WHERE r.oid = ANY (p.polroles)) AS roles,
            0::pg_catalog.oid = ANY (p.polroles) AS to_public,
            pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual,
            pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS withcheck
       FROM pg_catalog.pg_policy p
       JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
      WHERE c.relnamespace = ANY ($1::pg_catalog.oid[])`,
    [ctx.nsOids],
  );
  for (const p of list) {
    const rel = ctx.relations.get(p.polrelid);
    if (!rel) continue;
    const addr = address.policy(rel.schema, rel.name, p.polname);
    ctx.b.add({
      kind: 'policy',
      spec: {
        permissive: p.polpermissive,
        command: COMMAND[p.polcmd] ?? 'ALL',
        toPublic: p.to_public,
        roles: p.roles ?? [],
        using: p.qual,
        withCheck: p.withcheck,
      },
      address: addr,
      schema: rel.schema,
      name: p.polname,
      table: { schema: rel.schema, name: rel.name },
      deps: [rel.address, address.rls(rel.schema, rel.name)],
    });
    ctx.b.own('pg_policy', p.oid, addr);
    ctx.b.commentable('pg_policy', p.oid, {
      target: addr,
      on: { on: 'POLICY', name: p.polname, relation: { schema: rel.schema, name: rel.name } },
      dependsOn: addr,
      schema: rel.schema,
      table: { schema: rel.schema, name: rel.name },
    });
  }
}
