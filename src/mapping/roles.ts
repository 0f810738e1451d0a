import type { PrivilegeTarget } from '../catalog/kinds/grant.js';
import { KINDS, render, type KindSpec } from '../catalog/kinds/registry.js';
import { specOf, type AclItem, type Catalog, type CatalogObject } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { quoteIdent } from '../db/ident.js';
import type { Finding } from '../errors/finding.js';
import { isReservedRole } from '../config/supabase.js';

/**
 * Owners and grants on the target. Every object pgshift creates is owned by the role it connects as (no ALTER
 * OWNER); privileges the source gives to other roles follow roles.map (source role -> target role) and are
 * dropped, with a finding, for roles it does not name. Roles of roles.create are created NOLOGIN without a
 * password (the plan says how to set one). Reserved roles (Supabase's) are never created or altered.
 */

/** What GRANT ... ON names; null for kinds without privileges (and aggregates, which take none of their own). */
function grantTarget(o: CatalogObject): PrivilegeTarget | null {
  const s = o.schema ?? '';
  switch (o.kind) {
    case 'table':
    case 'view':
    case 'materialized_view':
      return { on: 'TABLE', schema: s, name: o.name };
    case 'sequence':
      return { on: 'SEQUENCE', schema: s, name: o.name };
    case 'schema':
      return { on: 'SCHEMA', name: o.name };
    case 'type':
      return { on: 'TYPE', schema: s, name: o.name };
    case 'function':
      return routineTarget(o);
    default:
      return null;
  }
}

function routineTarget(o: CatalogObject): PrivilegeTarget | null {
  const f = specOf(o, 'function');
  if (!f || f.routine === 'aggregate') return null;
  return { on: 'ROUTINE', schema: o.schema ?? '', name: o.name, args: f.argTypes };
}

/** What ALTER ... OWNER TO names; null for objects whose owner follows another's. */
function alterTarget(o: CatalogObject, linkedSequences: ReadonlySet<string>): PrivilegeTarget | null {
  const s = o.schema ?? '';
  switch (o.kind) {
    case 'table':
      return { on: 'TABLE', schema: s, name: o.name };
    case 'view':
      return { on: 'VIEW', schema: s, name: o.name };
    case 'materialized_view':
      return { on: 'MATERIALIZED VIEW', schema: s, name: o.name };
    case 'sequence':
      // a sequence OWNED BY a column follows its table's owner (ALTER SEQUENCE would be refused)
      return linkedSequences.has(`${s}.${o.name}`) ? null : { on: 'SEQUENCE', schema: s, name: o.name };
    case 'schema':
      return { on: 'SCHEMA', name: o.name };
    case 'type':
      return { on: specOf(o, 'type')?.variant === 'domain' ? 'DOMAIN' : 'TYPE', schema: s, name: o.name };
    case 'collation':
      return { on: 'COLLATION', schema: s, name: o.name };
    case 'function':
      return routineTarget(o);
    default:
      return null;
  }
}

/** An object pgshift plans from the config (role, grant, owner): its SQL rendered from its fields by its kind. */
function planned(
  o: KindSpec & {
    address: string;
    schema: string | null;
    name: string;
    table: CatalogObject['table'];
    dependsOn: string[];
  },
): CatalogObject {
  return { ...o, phase: KINDS[o.kind].phase, ...render(o), owner: null, acl: null };
}

export interface RolePlan {
  readonly objects: readonly CatalogObject[];
  readonly findings: readonly Finding[];
  readonly notes: ReadonlyMap<string, string>;
}

/**
 * Role and grant objects for the mapped source objects (`mapped`: already renamed for the target), given the
 * raw source's owners (`ownerOf` by mapped address) and what the target already holds.
 */
export function planRoles(
  config: Config,
  mapped: readonly CatalogObject[],
  inScope: (o: CatalogObject) => boolean,
  target: Catalog,
  /** Addresses pgshift recorded as created by it (pgshift.objects): their owner may still be changed. */
  createdByPgshift: ReadonlySet<string> = new Set(),
): RolePlan {
  const supabase = config.target.provider === 'supabase';
  const objects: CatalogObject[] = [];
  const findings: Finding[] = [];
  const notes = new Map<string, string>();
  const targetRoles = new Set(target.roles ?? []);
  const roleMap = new Map(Object.entries(config.roles.map));
  const created: string[] = [];

  for (const role of config.roles.create) {
    if (targetRoles.has(role) || isReservedRole(role)) continue;
    const address = `role ${role}`;
    created.push(address);
    // with roles.owners: mapped, the connecting role gives objects to it: it must be able to SET ROLE to it
    const spec = { grantToCurrentUser: config.roles.owners === 'mapped' };
    objects.push(planned({ kind: 'role', spec, address, schema: null, name: role, table: null, dependsOn: [] }));
    notes.set(
      address,
      `created NOLOGIN without a password; to let it log in, run ALTER ROLE ${quoteIdent(role)} WITH LOGIN PASSWORD '...' on the target yourself (pgshift never handles passwords)`,
    );
  }
  if (created.length > 0) {
    findings.push({
      code: 'ROLE_WITHOUT_PASSWORD',
      severity: 'warning',
      message: `${created.length} role(s) will be created NOLOGIN without a password: ${created.map((a) => a.slice('role '.length)).join(', ')}`,
      hint: "After apply, give the ones that log in a password yourself: ALTER ROLE name WITH LOGIN PASSWORD '...' (psql's \\password name keeps it out of the history).",
    });
  }

  const targetAcl = new Map<string, readonly AclItem[]>(target.objects.map((o) => [o.address, o.acl ?? []]));
  const dropped = new Map<string, number>();
  const reserved = new Map<string, string>();
  for (const o of mapped) {
    if (!o.acl || !inScope(o)) continue;
    const on = grantTarget(o);
    if (!on) continue;
    const byRole = new Map<string, Set<string>>();
    for (const item of o.acl) {
      if (item.privileges.length === 0) continue;
      if (item.grantee === '' || item.grantee === o.owner || item.grantee.startsWith('pg_')) continue; // PUBLIC defaults, the owner's own, built-in roles
      const to = roleMap.get(item.grantee);
      if (to === undefined) {
        if (supabase && isReservedRole(item.grantee)) reserved.set(item.grantee, o.address);
        else dropped.set(item.grantee, (dropped.get(item.grantee) ?? 0) + 1);
        continue;
      }
      let set = byRole.get(to);
      if (!set) byRole.set(to, (set = new Set()));
      for (const p of item.privileges) set.add(p);
    }
    for (const [role, privs] of [...byRole].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const have = new Set(
        (targetAcl.get(o.address) ?? []).filter((x) => x.grantee === role).flatMap((x) => x.privileges),
      );
      const list = [...privs].sort();
      if (list.every((p) => have.has(p))) continue;
      objects.push(
        planned({
          kind: 'grant',
          spec: { privileges: list, on, grantee: role },
          address: `grant ${o.address} to ${role}`,
          schema: o.schema,
          name: `${o.name} to ${role}`,
          table: o.table,
          dependsOn: [o.address, ...(created.includes(`role ${role}`) ? [`role ${role}`] : [])],
        }),
      );
      if (!targetRoles.has(role) && !created.includes(`role ${role}`)) {
        findings.push({
          code: 'ROLE_MISSING',
          severity: 'blocker',
          address: o.address,
          message: `roles.map sends grants to "${role}", which the target does not have`,
          hint: `Create it first, or add it to roles.create.`,
        });
      }
    }
  }
  if (config.roles.owners === 'mapped')
    objects.push(...planOwners(config, mapped, inScope, target, created, createdByPgshift, findings));

  for (const [role, n] of [...dropped].sort()) {
    findings.push({
      code: 'GRANT_DROPPED',
      severity: 'warning',
      message: `${n} grant(s) to source role "${role}" are not migrated: roles.map does not name it`,
      hint: `Map it to a target role (roles: { map: { ${role}: ${role} }, create: [${role}] } to keep the name), or leave it: the objects are owned by the connecting role.`,
    });
  }
  for (const [role, at] of [...reserved].sort()) {
    findings.push({
      code: 'ROLE_RESERVED',
      severity: 'blocker',
      address: at,
      message: `the source grants privileges to "${role}", a role Supabase reserves (it is never created or altered)`,
      hint: `Say what it becomes on the target in roles.map (roles: { map: { ${role}: ${role} } } to grant to the target's own "${role}"), or revoke it on the source.`,
    });
  }
  return { objects, findings, notes };
}

/** Whether `role` owns schema `schema` on the target or holds CREATE on it (directly or through PUBLIC). */
function mayCreateIn(target: Catalog, schema: string, role: string): boolean {
  const s = target.objects.find((o) => o.kind === 'schema' && o.name === schema);
  if (!s) return false;
  if (s.owner === role) return true;
  return (s.acl ?? []).some((a) => (a.grantee === role || a.grantee === '') && a.privileges.includes('CREATE'));
}

/**
 * roles.owners: mapped: every object whose source owner roles.map names is given to the target role, after it is
 * created (ALTER ... OWNER TO). Only objects pgshift creates (or created, per its state) are touched; an owner the
 * connecting role cannot SET ROLE to is a blocker, a reserved one too.
 */
function planOwners(
  config: Config,
  mapped: readonly CatalogObject[],
  inScope: (o: CatalogObject) => boolean,
  target: Catalog,
  created: readonly string[],
  createdByPgshift: ReadonlySet<string>,
  findings: Finding[],
): CatalogObject[] {
  const roleMap = new Map(Object.entries(config.roles.map));
  const supabase = config.target.provider === 'supabase';
  const members = new Set(target.memberOf ?? []);
  const onTarget = new Map(target.objects.map((o) => [o.address, o]));
  const linked = new Set(mapped.filter((o) => o.kind === 'sequence_owner').map((o) => `${o.schema ?? ''}.${o.name}`));
  const out: CatalogObject[] = [];
  const refused = new Map<string, string>();
  for (const o of mapped) {
    if (!o.owner || !inScope(o)) continue;
    const role = roleMap.get(o.owner);
    const what = alterTarget(o, linked);
    if (role === undefined || what === null) continue;
    const existing = onTarget.get(o.address);
    if (existing && (existing.owner === role || !createdByPgshift.has(o.address))) continue; // done, or not pgshift's to change
    if (supabase && isReservedRole(role)) {
      refused.set(role, `"${role}" is a role Supabase reserves`);
      continue;
    }
    if (!members.has(role) && !created.includes(`role ${role}`))
      refused.set(role, `the connecting role cannot SET ROLE to "${role}"`);
    // an owner needs CREATE on the schema of what it owns
    const schema = o.kind === 'schema' ? null : o.schema;
    const schemaGrant = schema === null ? null : `grant schema ${schema} to ${role} (create, for owning)`;
    if (
      schema !== null &&
      schemaGrant !== null &&
      !out.some((x) => x.address === schemaGrant) &&
      !mayCreateIn(target, schema, role)
    ) {
      out.push(
        planned({
          kind: 'grant',
          spec: { privileges: ['CREATE'], on: { on: 'SCHEMA', name: schema }, grantee: role },
          address: schemaGrant,
          schema: null,
          name: `${schema} to ${role}`,
          table: null,
          dependsOn: [`schema ${schema}`, ...(created.includes(`role ${role}`) ? [`role ${role}`] : [])],
        }),
      );
    }
    out.push(
      planned({
        kind: 'owner',
        spec: { on: what, role },
        address: `owner ${o.address}`,
        schema: o.schema,
        name: o.name,
        table: o.kind === 'table' ? { schema: o.schema ?? '', name: o.name } : o.table,
        dependsOn: [
          o.address,
          ...(created.includes(`role ${role}`) ? [`role ${role}`] : []),
          ...(schemaGrant !== null && out.some((x) => x.address === schemaGrant) ? [schemaGrant] : []),
        ],
      }),
    );
  }
  for (const [role, why] of [...refused].sort()) {
    findings.push({
      code: 'OWNER_REFUSED',
      severity: 'blocker',
      message: `roles.owners: mapped gives objects to "${role}", but ${why}`,
      hint: `Have an admin run GRANT ${quoteIdent(role)} TO <the connecting role>, list it in roles.create, map its owner elsewhere, or set roles.owners: connecting.`,
    });
  }
  return out;
}
