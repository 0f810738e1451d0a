import { qualified } from '../../db/ident.js';
import { mapPlace, tableOf, type KindModule } from './kind.js';

/** ENABLE / FORCE ROW LEVEL SECURITY of the object's table. */
export interface RlsSpec {
  readonly enable: boolean;
  readonly force: boolean;
}

export const rlsKind: KindModule<RlsSpec> = {
  phase: 'post-data',
  create: (o) => {
    const t = tableOf(o);
    const q = qualified(t.schema, t.name);
    return [
      ...(o.spec.enable ? [`ALTER TABLE ${q} ENABLE ROW LEVEL SECURITY`] : []),
      ...(o.spec.force ? [`ALTER TABLE ${q} FORCE ROW LEVEL SECURITY`] : []),
    ];
  },
  definition: (o) => `enable=${o.spec.enable} force=${o.spec.force}`,
  drop: (o) => {
    const t = tableOf(o);
    const q = qualified(t.schema, t.name);
    return [
      `ALTER TABLE IF EXISTS ${q} NO FORCE ROW LEVEL SECURITY`,
      `ALTER TABLE IF EXISTS ${q} DISABLE ROW LEVEL SECURITY`,
    ];
  },
  map: (o, m) => {
    if (o.table) m.ref(o.table.schema, o.table.name);
    return mapPlace(o, m);
  },
};
