import type { ExtensionMember } from '../types.js';
import { rows, type ReadContext } from './context.js';

/**
 * The names extensions put in the schemas read (functions, types, relations, operators), so that references to
 * them can follow the extension when it lives in another schema on the target.
 */
export async function readExtensionMembers(ctx: ReadContext): Promise<ExtensionMember[]> {
  const list = await rows<ExtensionMember>(
    ctx,
    `SELECT DISTINCT e.extname AS extension, n.nspname AS schema, x.name
       FROM pg_catalog.pg_depend d
       JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
       JOIN LATERAL (
              SELECT p.proname::pg_catalog.text, p.pronamespace FROM pg_catalog.pg_proc p
               WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = d.objid
              UNION ALL
              SELECT t.typname::pg_catalog.text, t.typnamespace FROM pg_catalog.pg_type t
               WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = d.objid
              UNION ALL
              SELECT c.relname::pg_catalog.text, c.relnamespace FROM pg_catalog.pg_class c
               WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = d.objid
              UNION ALL
              SELECT o.oprname::pg_catalog.text, o.oprnamespace FROM pg_catalog.pg_operator o
               WHERE d.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid = d.objid
            ) x(name, ns) ON true
       JOIN pg_catalog.pg_namespace n ON n.oid = x.ns
      WHERE d.deptype = 'e' AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
        AND e.extnamespace = ANY ($1::pg_catalog.oid[])
      ORDER BY 1, 2, 3`,
    [ctx.nsOids],
  );
  return list;
}
