import { render } from '../catalog/kinds/registry.js';
import { specOf, type CatalogObject } from '../catalog/types.js';
import type { Finding } from '../errors/finding.js';
import { isReservedRole } from '../config/supabase.js';

export interface PolicyRoleInput {
  readonly roleMap: ReadonlyMap<string, string>;
  readonly targetRoles: ReadonlySet<string>;
  /** roles.create */
  readonly created: ReadonlySet<string>;
  readonly supabase: boolean;
}

/**
 * A policy names roles: mapped ones (roles.map) are renamed in its fields; others must exist on the target or be
 * created, else a blocker (a role Supabase reserves must be mapped explicitly). `inScope`: whether the source
 * object is migrated (an object that is not needs no check).
 */
export function mapPolicyRoles(
  o: CatalogObject,
  inScope: boolean,
  input: PolicyRoleInput,
  findings: Finding[],
): CatalogObject {
  const p = specOf(o, 'policy');
  if (!p) return o;
  for (const r of p.roles) {
    if (input.roleMap.has(r) || !inScope) continue;
    if (input.supabase && isReservedRole(r)) {
      findings.push({
        code: 'ROLE_RESERVED',
        severity: 'blocker',
        address: o.address,
        message: `${o.address} is granted to "${r}", a role Supabase reserves`,
        hint: `Say what it becomes on the target in roles.map (e.g. roles: { map: { ${r}: ${r} } } to keep it, if the target's "${r}" is meant).`,
      });
    } else if (!input.targetRoles.has(r) && !input.created.has(r)) {
      findings.push({
        code: 'ROLE_MISSING',
        severity: 'blocker',
        address: o.address,
        message: `${o.address} names role "${r}", which the target does not have`,
        hint: `Map it to a target role (roles.map), or have pgshift create it (roles.create: [${r}]).`,
      });
    }
  }
  const roles = p.roles.map((r) => input.roleMap.get(r) ?? r);
  if (roles.every((r, i) => r === p.roles[i])) return o;
  const spec = { ...p, roles };
  return { ...o, spec, ...render({ kind: 'policy', spec, schema: o.schema, name: o.name, table: o.table }) };
}
