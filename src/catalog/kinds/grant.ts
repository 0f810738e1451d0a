import { qualified, quoteIdent } from '../../db/ident.js';
import type { KindModule } from './kind.js';

/** What GRANT ... ON and ALTER ... OWNER TO name. */
export type PrivilegeTarget =
  | { readonly on: 'SCHEMA'; readonly name: string }
  | {
      readonly on: 'TABLE' | 'VIEW' | 'MATERIALIZED VIEW' | 'SEQUENCE' | 'TYPE' | 'DOMAIN' | 'COLLATION';
      readonly schema: string;
      readonly name: string;
    }
  | { readonly on: 'ROUTINE'; readonly schema: string; readonly name: string; readonly args: string };

export function privilegeTarget(t: PrivilegeTarget): string {
  switch (t.on) {
    case 'SCHEMA':
      return `SCHEMA ${quoteIdent(t.name)}`;
    case 'ROUTINE':
      return `ROUTINE ${qualified(t.schema, t.name)}(${t.args})`;
    default:
      return `${t.on} ${qualified(t.schema, t.name)}`;
  }
}

/** Privileges on one object given to one role (planned from the source's ACL and roles.map). */
export interface GrantSpec {
  readonly privileges: readonly string[];
  readonly on: PrivilegeTarget;
  readonly grantee: string;
}

const create = (g: GrantSpec): string =>
  `GRANT ${g.privileges.join(', ')} ON ${privilegeTarget(g.on)} TO ${quoteIdent(g.grantee)}`;

export const grantKind: KindModule<GrantSpec> = {
  phase: 'post-data',
  create: (o) => [create(o.spec)],
  definition: (o) => create(o.spec),
  // goes with its object
  drop: () => [],
  map: (o) => o,
};
