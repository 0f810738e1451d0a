import { address } from '../address.js';
import type { CollationSpec } from '../kinds/collation.js';
import { rows, type ReadContext } from './context.js';

interface CollationRow {
  oid: number;
  nspname: string;
  collname: string;
  owner: string | null;
  provider: string;
  deterministic: boolean;
  lc_collate: string | null;
  lc_ctype: string | null;
  locale: string | null;
  rules: string | null;
}

/** Where a server keeps an ICU (or builtin) locale and the ICU rules: the columns moved between majors. */
function localeColumns(versionNum: number): { locale: string; rules: string } {
  if (versionNum >= 170000) return { locale: 'c.colllocale', rules: 'c.collicurules' };
  if (versionNum >= 160000) return { locale: 'c.colliculocale', rules: 'c.collicurules' };
  if (versionNum >= 150000) return { locale: 'c.colliculocale', rules: 'NULL::pg_catalog.text' };
  return { locale: "CASE WHEN c.collprovider = 'i' THEN c.collcollate END", rules: 'NULL::pg_catalog.text' };
}

const PROVIDERS: Record<string, CollationSpec['provider']> = { c: 'libc', i: 'icu', b: 'builtin' };

/** The collations created in the schemas read (not by an extension): CREATE COLLATION with their provider's options. */
export async function readCollations(ctx: ReadContext): Promise<void> {
  const cols = localeColumns(ctx.versionNum);
  const list = await rows<CollationRow>(
    ctx,
    `SELECT c.oid, n.nspname, c.collname, pg_catalog.pg_get_userbyid(c.collowner) AS owner,
            c.collprovider::pg_catalog.text AS provider, c.collisdeterministic AS deterministic,
            c.collcollate AS lc_collate, c.collctype AS lc_ctype, ${cols.locale} AS locale, ${cols.rules} AS rules
       FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
      WHERE c.collnamespace = ANY ($1::pg_catalog.oid[])
      ORDER BY n.nspname, c.collname`,
    [ctx.nsOids],
  );
  for (const c of list) {
    if (ctx.b.isMember('pg_collation', c.oid)) continue;
    const provider = PROVIDERS[c.provider];
    if (!provider) continue; // 'd' (the database's default) is no collation one creates
    const addr = address.collation(c.nspname, c.collname);
    const spec: CollationSpec = {
      provider,
      lcCollate: provider === 'libc' ? c.lc_collate : null,
      lcCtype: provider === 'libc' ? c.lc_ctype : null,
      locale: provider === 'libc' ? null : c.locale,
      rules: provider === 'icu' && c.rules !== null && c.rules !== '' ? c.rules : null,
      deterministic: c.deterministic,
    };
    ctx.b.add({
      kind: 'collation',
      spec,
      address: addr,
      schema: c.nspname,
      name: c.collname,
      deps: [address.schema(c.nspname)],
      owner: c.owner,
      acl: null,
    });
    ctx.b.own('pg_collation', c.oid, addr);
    ctx.b.commentable('pg_collation', c.oid, {
      target: addr,
      on: { on: 'COLLATION', object: { schema: c.nspname, name: c.collname } },
      dependsOn: addr,
      schema: c.nspname,
      table: null,
    });
  }
}
