import { quoteIdent } from '../../db/ident.js';
import { privilegeTarget, type PrivilegeTarget } from './grant.js';
import type { KindModule } from './kind.js';

/** ALTER ... OWNER TO the role roles.map names for the source owner (roles.owners: mapped). */
export interface OwnerSpec {
  readonly on: PrivilegeTarget;
  readonly role: string;
}

export const ownerKind: KindModule<OwnerSpec> = {
  phase: 'post-data',
  create: (o) => [`ALTER ${privilegeTarget(o.spec.on)} OWNER TO ${quoteIdent(o.spec.role)}`],
  definition: (o) => `owner=${o.spec.role}`,
  drop: () => [],
  map: (o) => o,
};
