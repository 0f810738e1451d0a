import { quoteIdent } from '../../db/ident.js';
import type { KindModule } from './kind.js';

/** A target role of roles.create: NOLOGIN, no password (planned from the config, never read from a catalog). */
export interface RoleSpec {
  /** the connecting role becomes a member, to give objects to it (roles.owners: mapped) */
  readonly grantToCurrentUser: boolean;
}

const create = (name: string): string => `CREATE ROLE ${quoteIdent(name)} NOLOGIN`;

export const roleKind: KindModule<RoleSpec> = {
  phase: 'pre-data',
  create: (o) => [
    create(o.name),
    ...(o.spec.grantToCurrentUser ? [`GRANT ${quoteIdent(o.name)} TO CURRENT_USER`] : []),
  ],
  definition: (o) => create(o.name),
  // cluster-wide, may hold privileges elsewhere: kept
  drop: () => [],
  map: (o) => o,
};
