import type { UnsupportedObject } from '../types.js';
import { rows, type ReadContext } from './context.js';

/**
 * Objects of the schemas read that pgshift does not create on the target, so that the plan names them instead of
 * leaving them behind without a word: rewrite rules (other than a view's), extended statistics, text search
 * configurations, dictionaries, parsers and templates, operators, operator classes and families, conversions,
 * foreign tables, and user-defined casts. Objects an extension made are left out (the extension brings them).
 */
export async function readUnsupported(ctx: ReadContext): Promise<UnsupportedObject[]> {
  const notMember = (catalog: string, oid: string): string =>
    `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass
                   AND d.objid = ${oid} AND d.deptype = 'e')`;
  const inSchemas = (col: string): string => `${col} = ANY ($1::pg_catalog.oid[])`;
  const named = (catalog: string, nameCol: string, nsCol: string, kind: string): string =>
    `SELECT '${kind}'::pg_catalog.text AS kind, n.nspname AS schema, x.${nameCol}::pg_catalog.text AS name,
            NULL::pg_catalog.text AS tbl
       FROM pg_catalog.${catalog} x JOIN pg_catalog.pg_namespace n ON n.oid = x.${nsCol}
      WHERE ${inSchemas(`x.${nsCol}`)} AND ${notMember(catalog, 'x.oid')}`;
  const list = await rows<{ kind: UnsupportedObject['kind']; schema: string; name: string; tbl: string | null }>(
    ctx,
    [
      `SELECT 'rule'::pg_catalog.text AS kind, n.nspname AS schema, r.rulename::pg_catalog.text AS name,
              c.relname::pg_catalog.text AS tbl
         FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE r.rulename <> '_RETURN' AND ${inSchemas('c.relnamespace')} AND ${notMember('pg_rewrite', 'r.oid')}`,
      `SELECT 'statistics'::pg_catalog.text, n.nspname, s.stxname::pg_catalog.text, c.relname::pg_catalog.text
         FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_class c ON c.oid = s.stxrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
        WHERE ${inSchemas('s.stxnamespace')} AND ${notMember('pg_statistic_ext', 's.oid')}`,
      `SELECT 'foreign table'::pg_catalog.text, n.nspname, c.relname::pg_catalog.text, c.relname::pg_catalog.text
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'f' AND ${inSchemas('c.relnamespace')} AND ${notMember('pg_class', 'c.oid')}`,
      named('pg_ts_config', 'cfgname', 'cfgnamespace', 'text search configuration'),
      named('pg_ts_dict', 'dictname', 'dictnamespace', 'text search dictionary'),
      named('pg_ts_parser', 'prsname', 'prsnamespace', 'text search parser'),
      named('pg_ts_template', 'tmplname', 'tmplnamespace', 'text search template'),
      named('pg_operator', 'oprname', 'oprnamespace', 'operator'),
      named('pg_opclass', 'opcname', 'opcnamespace', 'operator class'),
      named('pg_opfamily', 'opfname', 'opfnamespace', 'operator family'),
      named('pg_conversion', 'conname', 'connamespace', 'conversion'),
      // a cast has no schema: one between types or through a function of the schemas read
      `SELECT 'cast'::pg_catalog.text, n.nspname,
              pg_catalog.format_type(k.castsource, NULL) || ' AS ' || pg_catalog.format_type(k.casttarget, NULL),
              NULL::pg_catalog.text
         FROM pg_catalog.pg_cast k
         JOIN pg_catalog.pg_type t ON t.oid IN (k.castsource, k.casttarget)
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE k.oid >= 16384 AND ${inSchemas('t.typnamespace')} AND ${notMember('pg_cast', 'k.oid')}`,
    ].join('\nUNION\n') + '\nORDER BY 1, 2, 3',
    [ctx.nsOids],
  );
  return list.map((r) => ({ kind: r.kind, schema: r.schema, name: r.name, table: r.tbl }));
}
