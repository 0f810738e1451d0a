import { qualified, quoteIdent } from '../../db/ident.js';
import { mapPlace, tableOf, type KindModule, type ObjectParts } from './kind.js';

export type PolicyCommand = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'ALL';

/** A row-level security policy of the object's table. */
export interface PolicySpec {
  readonly permissive: boolean;
  readonly command: PolicyCommand;
  /** the policy applies to PUBLIC (also when no role is named) */
  readonly toPublic: boolean;
  /** the roles it names, sorted */
  readonly roles: readonly string[];
  /** pg_get_expr() of USING and WITH CHECK */
  readonly using: string | null;
  readonly withCheck: string | null;
}

/** The roles as TO lists them: PUBLIC (null) first, then the names. */
export function policyRoles(p: PolicySpec): (string | null)[] {
  const list: (string | null)[] = [...(p.toPublic ? [null] : []), ...p.roles];
  return list.length > 0 ? list : [null];
}

function create(o: ObjectParts<PolicySpec>): string {
  const p = o.spec;
  const t = tableOf(o);
  let sql = `CREATE POLICY ${quoteIdent(o.name)} ON ${qualified(t.schema, t.name)} AS ${p.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'} FOR ${p.command}`;
  sql += ` TO ${policyRoles(p)
    .map((r) => (r === null ? 'PUBLIC' : quoteIdent(r)))
    .join(', ')}`;
  if (p.using !== null) sql += ` USING (${p.using})`;
  if (p.withCheck !== null) sql += ` WITH CHECK (${p.withCheck})`;
  return sql;
}

export const policyKind: KindModule<PolicySpec> = {
  phase: 'post-data',
  create: (o) => [create(o)],
  definition: create,
  drop: (o) => {
    const t = tableOf(o);
    return [`DROP POLICY IF EXISTS ${quoteIdent(o.name)} ON ${qualified(t.schema, t.name)}`];
  },
  map: (o, m) => {
    if (o.table) m.ref(o.table.schema, o.table.name);
    const using = o.spec.using === null ? null : m.expr(o.spec.using);
    const withCheck = o.spec.withCheck === null ? null : m.expr(o.spec.withCheck);
    return mapPlace(o, m, { ...o.spec, using, withCheck });
  },
};
