import { address } from '../address.js';
import type { TriggerSpec } from '../kinds/trigger.js';
import { rows, type ReadContext } from './context.js';

interface TriggerRow {
  oid: number;
  tgname: string;
  tgrelid: number;
  def: string;
  tgenabled: 'O' | 'D' | 'R' | 'A';
}

const ENABLED: Record<string, TriggerSpec['enabled']> = { D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' };

/** User triggers (pg_get_triggerdef); not internal ones (FK), not a partition's clone of its parent's trigger. */
export async function readTriggers(ctx: ReadContext): Promise<void> {
  const list = await rows<TriggerRow>(
    ctx,
    `SELECT t.oid, t.tgname, t.tgrelid, pg_catalog.pg_get_triggerdef(t.oid) AS def, t.tgenabled
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
      WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND c.relnamespace = ANY ($1::pg_catalog.oid[])
        -- pgshift's own write freeze (src/cutover/freeze.ts) is never part of a schema
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
                         WHERE p.oid = t.tgfoid AND pn.nspname = 'pgshift')`,
    [ctx.nsOids],
  );
  for (const t of list) {
    const rel = ctx.relations.get(t.tgrelid);
    if (!rel || rel.sqlKind === 'TYPE') continue;
    const addr = address.trigger(rel.schema, rel.name, t.tgname);
    ctx.b.add({
      kind: 'trigger',
      spec: { def: t.def, enabled: ENABLED[t.tgenabled] ?? null },
      address: addr,
      schema: rel.schema,
      name: t.tgname,
      table: { schema: rel.schema, name: rel.name },
      deps: [rel.address],
    });
    ctx.b.own('pg_trigger', t.oid, addr);
    ctx.b.commentable('pg_trigger', t.oid, {
      target: addr,
      on: { on: 'TRIGGER', name: t.tgname, relation: { schema: rel.schema, name: rel.name } },
      dependsOn: addr,
      schema: rel.schema,
      table: { schema: rel.schema, name: rel.name },
    });
  }
}
