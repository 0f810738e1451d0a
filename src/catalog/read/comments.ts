import { address } from '../address.js';
import type { CommentTarget } from '../kinds/comment.js';
import { rows, type ReadContext } from './context.js';

interface CommentRow {
  cls: string;
  objoid: number;
  objsubid: number;
  description: string;
}

/** COMMENT ON every listed object (and column) that has one; read last, when every object is known. */
export async function readComments(ctx: ReadContext): Promise<void> {
  const list = await rows<CommentRow>(
    ctx,
    `SELECT d.classoid::pg_catalog.regclass::pg_catalog.text AS cls, d.objoid, d.objsubid, d.description
       FROM pg_catalog.pg_description d
      WHERE d.objoid >= 16384 OR d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass`,
  );
  for (const d of list) {
    let target: string;
    let on: CommentTarget;
    let dependsOn: string;
    let schema: string | null;
    let table: { schema: string; name: string } | null;
    if (d.objsubid > 0) {
      if (d.cls !== 'pg_class') continue;
      const rel = ctx.relations.get(d.objoid);
      const column = ctx.columnNames.get(`${d.objoid}:${d.objsubid}`);
      if (!rel || column === undefined) continue;
      target = address.column(rel.schema, rel.name, column);
      on = { on: 'COLUMN', relation: { schema: rel.schema, name: rel.name }, name: column };
      dependsOn = rel.address;
      schema = rel.schema;
      table = rel.sqlKind === 'TYPE' ? null : { schema: rel.schema, name: rel.name };
    } else {
      const c = ctx.b.commentableOf(d.cls, d.objoid);
      if (!c) continue;
      ({ target, on, dependsOn, schema, table } = c);
    }
    ctx.b.add({
      kind: 'comment',
      spec: { target: on, text: d.description },
      address: address.comment(target),
      schema,
      name: target,
      table,
      deps: [dependsOn],
    });
  }
}
