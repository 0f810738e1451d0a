import type { LargeObjectSummary } from '../catalog/large-objects.js';
import type { Catalog } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { isReservedRole } from '../config/supabase.js';
import { quoteIdent } from '../db/ident.js';
import type { Finding } from '../errors/finding.js';

export interface LargeObjectRoles {
  /** Source owner -> target owner (roles.owners: mapped and roles.map names it); others: the connecting role. */
  readonly owners: Readonly<Record<string, string>>;
  /** Source grantee -> target grantee ('' is PUBLIC, kept as PUBLIC); a grantee absent here is not granted. */
  readonly grantees: Readonly<Record<string, string>>;
  /** Roles of roles.create the large objects need (their action waits for the role's creation). */
  readonly needsRoles: readonly string[];
  readonly findings: readonly Finding[];
}

/**
 * The owners and grantees of the source's large objects on the target, as every other object's: the owner follows
 * roles.map under roles.owners: mapped (else the connecting role owns them), grants follow roles.map (a grant to a
 * role it does not name is dropped, with a finding), grants to PUBLIC stay grants to PUBLIC.
 */
export function largeObjectRoles(config: Config, target: Catalog, lo: LargeObjectSummary): LargeObjectRoles {
  const roleMap = new Map(Object.entries(config.roles.map));
  const supabase = config.target.provider === 'supabase';
  const targetRoles = new Set(target.roles ?? []);
  const members = new Set(target.memberOf ?? []);
  const created = new Set(config.roles.create.filter((r) => !targetRoles.has(r) && !isReservedRole(r)));
  const findings: Finding[] = [];
  const owners: Record<string, string> = {};
  const grantees: Record<string, string> = {};
  const needs = new Set<string>();
  const exists = (role: string): boolean => targetRoles.has(role) || created.has(role);

  if (config.roles.owners === 'mapped') {
    for (const { role: from, objects } of lo.owners) {
      const to = roleMap.get(from);
      if (to === undefined) continue;
      owners[from] = to;
      if (created.has(to)) needs.add(to);
      const why =
        supabase && isReservedRole(to)
          ? `"${to}" is a role Supabase reserves`
          : !exists(to)
            ? `the target has no role "${to}"`
            : !members.has(to) && !created.has(to)
              ? `the connecting role cannot SET ROLE to "${to}"`
              : null;
      if (why)
        findings.push({
          code: 'OWNER_REFUSED',
          severity: 'blocker',
          address: 'large_objects',
          message: `roles.owners: mapped gives ${objects} large object(s) of "${from}" to "${to}", but ${why}`,
          hint: `Have an admin run GRANT ${quoteIdent(to)} TO <the connecting role>, list it in roles.create, map "${from}" elsewhere, or set roles.owners: connecting.`,
        });
    }
  }
  const dropped: string[] = [];
  for (const { role: from, objects } of lo.grantees) {
    if (from === '') {
      grantees[''] = '';
      continue;
    }
    const to = roleMap.get(from);
    if (to === undefined) {
      dropped.push(`"${from}" (${objects} object(s))`);
      continue;
    }
    grantees[from] = to;
    if (created.has(to)) needs.add(to);
    if (!exists(to))
      findings.push({
        code: 'ROLE_MISSING',
        severity: 'blocker',
        address: 'large_objects',
        message: `roles.map sends the large objects' grants of "${from}" to "${to}", which the target does not have`,
        hint: 'Create it first, or add it to roles.create.',
      });
  }
  if (dropped.length > 0)
    findings.push({
      code: 'GRANT_DROPPED',
      severity: 'warning',
      address: 'large_objects',
      message: `grants on large objects to ${dropped.join(', ')} are not migrated: roles.map does not name these roles`,
      hint: 'Map them to target roles in roles.map (and roles.create to keep the names), or leave them: the owner keeps its access.',
    });
  if (lo.unreadable > 0)
    findings.push({
      code: 'LARGE_OBJECTS_UNREADABLE',
      severity: 'blocker',
      address: 'large_objects',
      message: `the source role cannot read ${lo.unreadable} of the source's ${lo.count} large object(s) (the first: OID ${lo.firstUnreadable ?? '?'}): it neither owns them nor holds SELECT on them`,
      hint: 'Connect to the source as a superuser or as their owner, or have their owner run GRANT SELECT ON LARGE OBJECT <oid> TO <the source role>, then plan again.',
    });
  return { owners, grantees, needsRoles: [...needs].sort(), findings };
}

/**
 * The same owners and grantees from the configuration alone, for any source role (the cutover's sync meets objects
 * created after the plan, perhaps by roles the plan did not see): an owner roles.map names under roles.owners:
 * mapped, a grantee roles.map names, PUBLIC as PUBLIC. A role missing on the target fails that object's batch.
 */
export function configuredLargeObjectRoles(config: Config): Pick<LargeObjectRoles, 'owners' | 'grantees'> {
  const owners: Record<string, string> = {};
  const grantees: Record<string, string> = { '': '' };
  for (const [from, to] of Object.entries(config.roles.map)) {
    if (config.roles.owners === 'mapped') owners[from] = to;
    grantees[from] = to;
  }
  return { owners, grantees };
}

/** The rollback's owners and grantees: roles.map read backwards (a target role it names -> the source role). */
export function rollbackLargeObjectRoles(config: Config): Pick<LargeObjectRoles, 'owners' | 'grantees'> {
  const owners: Record<string, string> = {};
  const grantees: Record<string, string> = { '': '' };
  for (const [from, to] of Object.entries(config.roles.map)) {
    if (config.roles.owners === 'mapped') owners[to] = from;
    grantees[to] = from;
  }
  return { owners, grantees };
}
