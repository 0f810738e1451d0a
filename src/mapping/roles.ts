import type { Catalog, CatalogObject } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { qualified, quoteIdent } from '../db/ident.js';
import type { Finding } from '../errors/finding.js';
import { isReservedRole } from '../config/supabase.js';

/**
 * Owners and grants on the target. Every object pgshift creates is owned by the role it connects as (no ALTER
 * OWNER); privileges the source gives to other roles follow roles.map (source role -> target role) and are
 * dropped, with a finding, for roles it does not name. Roles of roles.create are created NOLOGIN without a
 * password (the plan says how to set one). Reserved roles (Supabase's) are never created or altered.
 */

const PRIVILEGES: Readonly<Record<string, string>> = {
  r: 'SELECT', w: 'UPDATE', a: 'INSERT', d: 'DELETE', D: 'TRUNCATE', x: 'REFERENCES', t: 'TRIGGER',
  X: 'EXECUTE', U: 'USAGE', C: 'CREATE', c: 'CONNECT', T: 'TEMPORARY', m: 'MAINTAIN',
};

export interface AclItem {
  /** '' for PUBLIC */
  readonly grantee: string;
  readonly privileges: readonly string[];
}

function unquoteRole(s: string): string {
  return s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s;
}

/** `grantee=privs/grantor` (aclitem text) -> grantee and privilege names (grant options dropped). */
export function parseAclItem(item: string): AclItem | null {
  const m = /^((?:"(?:[^"]|"")*"|[^=]*))=([A-Za-z*]*)\/(.*)$/s.exec(item);
  if (!m) return null;
  const privileges = [...(m[2] ?? '').replace(/\*/g, '')].map((c) => PRIVILEGES[c]).filter((p): p is string => p !== undefined);
  return { grantee: unquoteRole(m[1] ?? ''), privileges };
}

/** `TABLE "s"."t"`, `FUNCTION "s"."f"(integer)`...: what GRANT ... ON names; null for kinds without privileges. */
function grantTarget(o: CatalogObject): string | null {
  const s = o.schema ?? '';
  switch (o.kind) {
    case 'table':
    case 'view':
    case 'materialized_view':
      return `TABLE ${qualified(s, o.name)}`;
    case 'sequence':
      return `SEQUENCE ${qualified(s, o.name)}`;
    case 'schema':
      return `SCHEMA ${quoteIdent(o.name)}`;
    case 'type':
      return `TYPE ${qualified(s, o.name)}`;
    case 'function': {
      const prefix = `function ${s}.${o.name}(`;
      if (!o.address.startsWith(prefix) || o.createSql[0]?.startsWith('CREATE AGGREGATE')) return null;
      return `ROUTINE ${qualified(s, o.name)}(${o.address.slice(prefix.length, -1)})`;
    }
    default:
      return null;
  }
}

/** `ALTER TABLE "s"."t"`...: what ALTER ... OWNER TO names; null for objects whose owner follows another's. */
function alterTarget(o: CatalogObject, linkedSequences: ReadonlySet<string>): string | null {
  const s = o.schema ?? '';
  switch (o.kind) {
    case 'table':
      return `TABLE ${qualified(s, o.name)}`;
    case 'view':
      return `VIEW ${qualified(s, o.name)}`;
    case 'materialized_view':
      return `MATERIALIZED VIEW ${qualified(s, o.name)}`;
    case 'sequence':
      // a sequence OWNED BY a column follows its table's owner (ALTER SEQUENCE would be refused)
      return linkedSequences.has(`${s}.${o.name}`) ? null : `SEQUENCE ${qualified(s, o.name)}`;
    case 'schema':
      return `SCHEMA ${quoteIdent(o.name)}`;
    case 'type':
      return `${o.createSql[0]?.startsWith('CREATE DOMAIN') ? 'DOMAIN' : 'TYPE'} ${qualified(s, o.name)}`;
    case 'function': {
      const prefix = `function ${s}.${o.name}(`;
      if (!o.address.startsWith(prefix) || o.createSql[0]?.startsWith('CREATE AGGREGATE')) return null;
      return `ROUTINE ${qualified(s, o.name)}(${o.address.slice(prefix.length, -1)})`;
    }
    default:
      return null;
  }
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
    const sql = `CREATE ROLE ${quoteIdent(role)} NOLOGIN`;
    // with roles.owners: mapped, the connecting role gives objects to it: it must be able to SET ROLE to it
    const createSql = config.roles.owners === 'mapped' ? [sql, `GRANT ${quoteIdent(role)} TO CURRENT_USER`] : [sql];
    created.push(address);
    objects.push({ kind: 'role', address, schema: null, name: role, table: null, phase: 'pre-data', createSql, definition: sql, dependsOn: [], owner: null, acl: null });
    notes.set(address, `created NOLOGIN without a password; to let it log in, run ALTER ROLE ${quoteIdent(role)} WITH LOGIN PASSWORD '...' on the target yourself (pgshift never handles passwords)`);
  }
  if (created.length > 0) {
    findings.push({
      code: 'ROLE_WITHOUT_PASSWORD',
      severity: 'warning',
      message: `${created.length} role(s) will be created NOLOGIN without a password: ${created.map((a) => a.slice('role '.length)).join(', ')}`,
      hint: "After apply, give the ones that log in a password yourself: ALTER ROLE name WITH LOGIN PASSWORD '...' (psql's \\password name keeps it out of the history).",
    });
  }

  const targetAcl = new Map(target.objects.map((o) => [o.address, (o.acl ?? []).map(parseAclItem).filter((x): x is AclItem => x !== null)]));
  const dropped = new Map<string, number>();
  const reserved = new Map<string, string>();
  for (const o of mapped) {
    if (!o.acl || !inScope(o)) continue;
    const on = grantTarget(o);
    if (!on) continue;
    const byRole = new Map<string, Set<string>>();
    for (const item of o.acl.map(parseAclItem)) {
      if (!item || item.privileges.length === 0) continue;
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
      const have = new Set((targetAcl.get(o.address) ?? []).filter((x) => x.grantee === role).flatMap((x) => x.privileges));
      const list = [...privs].sort();
      if (list.every((p) => have.has(p))) continue;
      const sql = `GRANT ${list.join(', ')} ON ${on} TO ${quoteIdent(role)}`;
      objects.push({
        kind: 'grant',
        address: `grant ${o.address} to ${role}`,
        schema: o.schema,
        name: `${o.name} to ${role}`,
        table: o.table,
        phase: 'post-data',
        createSql: [sql],
        definition: sql,
        dependsOn: [o.address, ...(created.includes(`role ${role}`) ? [`role ${role}`] : [])],
        owner: null,
        acl: null,
      });
      if (!targetRoles.has(role) && !created.includes(`role ${role}`)) {
        findings.push({ code: 'ROLE_MISSING', severity: 'blocker', address: o.address, message: `roles.map sends grants to "${role}", which the target does not have`, hint: `Create it first, or add it to roles.create.` });
      }
    }
  }
  if (config.roles.owners === 'mapped') objects.push(...planOwners(config, mapped, inScope, target, created, createdByPgshift, findings));

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
  return (s.acl ?? []).map(parseAclItem).some((a) => a !== null && (a.grantee === role || a.grantee === '') && a.privileges.includes('CREATE'));
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
    if (!members.has(role) && !created.includes(`role ${role}`)) refused.set(role, `the connecting role cannot SET ROLE to "${role}"`);
    // an owner needs CREATE on the schema of what it owns
    const schema = o.kind === 'schema' ? null : o.schema;
    const schemaGrant = schema === null ? null : `grant schema ${schema} to ${role} (create, for owning)`;
    if (schema !== null && schemaGrant !== null && !out.some((x) => x.address === schemaGrant) && !mayCreateIn(target, schema, role)) {
      const grant = `GRANT CREATE ON SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(role)}`;
      out.push({
        kind: 'grant',
        address: schemaGrant,
        schema: null,
        name: `${schema} to ${role}`,
        table: null,
        phase: 'post-data',
        createSql: [grant],
        definition: grant,
        dependsOn: [`schema ${schema}`, ...(created.includes(`role ${role}`) ? [`role ${role}`] : [])],
        owner: null,
        acl: null,
      });
    }
    const sql = `ALTER ${what} OWNER TO ${quoteIdent(role)}`;
    out.push({
      kind: 'owner',
      address: `owner ${o.address}`,
      schema: o.schema,
      name: o.name,
      table: o.kind === 'table' ? { schema: o.schema ?? '', name: o.name } : o.table,
      phase: 'post-data',
      createSql: [sql],
      definition: `owner=${role}`,
      dependsOn: [o.address, ...(created.includes(`role ${role}`) ? [`role ${role}`] : []), ...(schemaGrant !== null && out.some((x) => x.address === schemaGrant) ? [schemaGrant] : [])],
      owner: null,
      acl: null,
    });
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
