import { rows, type ReadContext } from './context.js';

interface DependRow {
  cls: string;
  objid: number;
  refcls: string;
  refobjid: number;
  deptype: 'n' | 'a' | 'i';
}

/**
 * Turns pg_depend into dependencies between catalog addresses: every pg object was registered with the catalog
 * object it belongs to (a column default belongs to its table, a view's rewrite rule to the view, an array type to
 * its element type, an extension's member to the extension...). OWNED BY links (sequence -> column) are left out:
 * the table needs the sequence, not the reverse (sequence_owner objects carry them).
 */
export async function readDependencies(ctx: ReadContext): Promise<void> {
  const list = await rows<DependRow>(
    ctx,
    `SELECT d.classid::pg_catalog.regclass::pg_catalog.text AS cls, d.objid,
            d.refclassid::pg_catalog.regclass::pg_catalog.text AS refcls, d.refobjid, d.deptype
       FROM pg_catalog.pg_depend d
      WHERE d.deptype IN ('n', 'a', 'i') AND d.objid >= 16384`,
  );
  for (const d of list) {
    const from = ctx.b.ownerOf(d.cls, d.objid);
    if (!from) continue;
    if (d.deptype !== 'n' && ctx.b.drafts.get(from)?.kind === 'sequence') continue;
    ctx.b.depend(from, ctx.b.ownerOf(d.refcls, d.refobjid));
  }
}
