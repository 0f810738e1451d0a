import { qualified, quoteIdent } from '../../db/ident.js';
import { mapPlace, tableOf, type KindModule } from './kind.js';

/** Primary key, unique, exclusion, foreign key and NOT VALID check constraints of the object's table (post-data). */
export interface ConstraintSpec {
  /** pg_get_constraintdef(), e.g. `PRIMARY KEY (id)`, `FOREIGN KEY (a) REFERENCES s.t(id)` */
  readonly def: string;
  /** the index behind the constraint is the table's REPLICA IDENTITY: its name */
  readonly replicaIdentityIndex: string | null;
}

export const constraintKind: KindModule<ConstraintSpec> = {
  phase: 'post-data',
  create: (o) => {
    const t = tableOf(o);
    const q = qualified(t.schema, t.name);
    const sql = [`ALTER TABLE ${q} ADD CONSTRAINT ${quoteIdent(o.name)} ${o.spec.def}`];
    if (o.spec.replicaIdentityIndex !== null)
      sql.push(`ALTER TABLE ONLY ${q} REPLICA IDENTITY USING INDEX ${quoteIdent(o.spec.replicaIdentityIndex)}`);
    return sql;
  },
  definition: (o) => o.spec.def + (o.spec.replicaIdentityIndex !== null ? '\nREPLICA IDENTITY' : ''),
  drop: (o) => {
    const t = tableOf(o);
    return [`ALTER TABLE IF EXISTS ${qualified(t.schema, t.name)} DROP CONSTRAINT IF EXISTS ${quoteIdent(o.name)}`];
  },
  map: (o, m) => {
    if (o.table) m.ref(o.table.schema, o.table.name);
    return mapPlace(o, m, { ...o.spec, def: m.expr(o.spec.def) });
  },
};
