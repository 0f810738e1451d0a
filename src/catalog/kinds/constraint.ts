import { qualified, quoteIdent } from '../../db/ident.js';
import { mapPlace, tableOf, type KindModule, type LockMode } from './kind.js';

/** Primary key, unique, exclusion, foreign key and NOT VALID check constraints of the object's table (post-data). */
export interface ConstraintSpec {
  /** pg_get_constraintdef(), e.g. `PRIMARY KEY (id)`, `FOREIGN KEY (a) REFERENCES s.t(id)` */
  readonly def: string;
  /** the index behind the constraint is the table's REPLICA IDENTITY: its name */
  readonly replicaIdentityIndex: string | null;
  /**
   * A primary key or unique constraint of a plain table (not deferrable, its index in the default tablespace): its
   * index is built first, by pg_get_indexdef() of the source's (a CREATE UNIQUE INDEX takes a SHARE lock, so it
   * builds beside the table's other indexes), then attached with ALTER TABLE ... ADD CONSTRAINT ... USING INDEX (a
   * catalog change). Null: the constraint is added with its definition (ALTER TABLE ... ADD CONSTRAINT, which holds
   * the table exclusively while it builds).
   */
  readonly usingIndex: { readonly def: string; readonly type: 'PRIMARY KEY' | 'UNIQUE' } | null;
}

export const constraintKind: KindModule<ConstraintSpec> = {
  phase: 'post-data',
  create: (o) => {
    const t = tableOf(o);
    const q = qualified(t.schema, t.name);
    const u = o.spec.usingIndex;
    const sql = u
      ? [u.def, `ALTER TABLE ${q} ADD CONSTRAINT ${quoteIdent(o.name)} ${u.type} USING INDEX ${quoteIdent(o.name)}`]
      : [`ALTER TABLE ${q} ADD CONSTRAINT ${quoteIdent(o.name)} ${o.spec.def}`];
    if (o.spec.replicaIdentityIndex !== null)
      sql.push(`ALTER TABLE ONLY ${q} REPLICA IDENTITY USING INDEX ${quoteIdent(o.spec.replicaIdentityIndex)}`);
    return sql;
  },
  // how it is built is not what it is: the same constraint either way
  definition: (o) => o.spec.def + (o.spec.replicaIdentityIndex !== null ? '\nREPLICA IDENTITY' : ''),
  drop: (o) => {
    const t = tableOf(o);
    return [`ALTER TABLE IF EXISTS ${qualified(t.schema, t.name)} DROP CONSTRAINT IF EXISTS ${quoteIdent(o.name)}`];
  },
  map: (o, m) => {
    if (o.table) m.ref(o.table.schema, o.table.name);
    const u = o.spec.usingIndex;
    return mapPlace(o, m, {
      ...o.spec,
      def: m.expr(o.spec.def),
      usingIndex: u ? { ...u, def: m.expr(u.def) } : null,
    });
  },
  lockMode: (o): LockMode | undefined => (o.spec.usingIndex ? 'attach' : undefined),
};
