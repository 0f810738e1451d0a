import { qualified, quoteIdent } from '../../db/ident.js';
import { mapPlace, tableOf, type KindModule, type ObjectParts } from './kind.js';

/** A user trigger of the object's table. */
export interface TriggerSpec {
  /** pg_get_triggerdef() */
  readonly def: string;
  /** not enabled the default way (pg_trigger.tgenabled O) */
  readonly enabled: 'DISABLE' | 'ENABLE REPLICA' | 'ENABLE ALWAYS' | null;
}

function create(o: ObjectParts<TriggerSpec>): string[] {
  const t = tableOf(o);
  const sql = [o.spec.def];
  if (o.spec.enabled)
    sql.push(`ALTER TABLE ${qualified(t.schema, t.name)} ${o.spec.enabled} TRIGGER ${quoteIdent(o.name)}`);
  return sql;
}

export const triggerKind: KindModule<TriggerSpec> = {
  phase: 'post-data',
  create,
  definition: (o) => create(o).join(';\n'),
  drop: (o) => {
    const t = tableOf(o);
    return [`DROP TRIGGER IF EXISTS ${quoteIdent(o.name)} ON ${qualified(t.schema, t.name)}`];
  },
  map: (o, m) => {
    const def = m.expr(o.spec.def);
    if (o.spec.enabled && o.table) m.ref(o.table.schema, o.table.name);
    return mapPlace(o, m, { ...o.spec, def });
  },
};
