import { qualified, quoteIdent } from '../../db/ident.js';
import { mapPlace, schemaOf, tableOf, type KindModule, type ObjectParts } from './kind.js';

/** An index that backs no constraint (on a partitioned table: the whole tree). */
export interface IndexSpec {
  /** pg_get_indexdef(), `ON ONLY` made `ON` */
  readonly def: string;
  /** the index is its table's REPLICA IDENTITY */
  readonly replicaIdentity: boolean;
}

function create(o: ObjectParts<IndexSpec>): string[] {
  const t = tableOf(o);
  return o.spec.replicaIdentity
    ? [o.spec.def, `ALTER TABLE ONLY ${qualified(t.schema, t.name)} REPLICA IDENTITY USING INDEX ${quoteIdent(o.name)}`]
    : [o.spec.def];
}

export const indexKind: KindModule<IndexSpec> = {
  phase: 'post-data',
  create,
  definition: (o) => create(o).join(';\n'),
  drop: (o) => [`DROP INDEX IF EXISTS ${qualified(schemaOf(o), o.name)}`],
  map: (o, m) => {
    const def = m.expr(o.spec.def);
    if (o.spec.replicaIdentity && o.table) m.ref(o.table.schema, o.table.name);
    return mapPlace(o, m, { ...o.spec, def });
  },
  // a replica identity index also ALTERs its table once built
  lockMode: (o) => (o.spec.replicaIdentity ? 'attach' : 'shared'),
};
