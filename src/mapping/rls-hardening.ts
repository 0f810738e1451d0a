import { address } from '../catalog/address.js';
import { render } from '../catalog/kinds/registry.js';
import { policyRoles } from '../catalog/kinds/policy.js';
import { specOf, type CatalogObject } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { quoteIdent } from '../db/ident.js';
import type { Finding } from '../errors/finding.js';
import type { Scope } from '../catalog/scope.js';
import { API_ROLES } from './api-roles.js';
import type { TablePair } from './table-pairs.js';

/**
 * RLS hardening for schemas the Data API exposes (security.exposed_schemas, security.rls): row level security before
 * any row is copied, views that would serve rows past it revoked from the API roles, and plan-time findings about
 * what the policies let the API roles read.
 */

/**
 * RLS before data: with security.rls enable, every migrated table in an exposed schema gets ROW LEVEL SECURITY in
 * the same transaction that creates it (so no row is ever readable through the Data API), and an `rls` object
 * in the schema phase (for tables that already exist on the target: it runs before their copy). Tables that had
 * RLS on the source keep theirs (and their FORCE), also in the schema phase. With `warn`, a finding lists them.
 */
export function protectExposedTables(
  config: Config,
  objects: CatalogObject[],
  pairs: readonly TablePair[],
  rawScope: Scope,
  findings: Finding[],
  notes: Map<string, string>,
): CatalogObject[] {
  const exposed = new Set(config.security.exposedSchemas);
  if (exposed.size === 0 || config.security.rls === 'off') return objects;
  const byAddress = new Map(objects.map((o, i) => [o.address, i]));
  const unprotected: string[] = [];
  for (const { source: src, target: t } of pairs) {
    if (!exposed.has(t.schema) || !rawScope.tableInScope(src.schema, src.name)) continue;
    const tableAt = byAddress.get(t.address);
    if (tableAt === undefined) continue;
    const rlsAddress = address.rls(t.schema, t.name);
    const rlsAt = byAddress.get(rlsAddress);
    if (rlsAt === undefined && config.security.rls === 'warn') {
      unprotected.push(`${t.schema}.${t.name}`);
      continue;
    }
    const table = objects[tableAt] as CatalogObject;
    const tableSpec = specOf(table, 'table');
    if (tableSpec) {
      const spec = { ...tableSpec, enableRls: true };
      objects[tableAt] = {
        ...table,
        spec,
        createSql: render({ kind: 'table', spec, schema: table.schema, name: table.name, table: table.table })
          .createSql,
      };
    }
    if (rlsAt !== undefined) {
      // the source's own RLS: before the copy too, unless it FORCEs RLS on the owner (a COPY by an owner without
      // BYPASSRLS would then be refused; the statement that creates the table has enabled RLS already)
      const rls = objects[rlsAt] as CatalogObject;
      if (specOf(rls, 'rls')?.force !== true) objects[rlsAt] = { ...rls, phase: 'pre-data' };
      continue;
    }
    const parts = { schema: t.schema, name: t.name, table: { schema: t.schema, name: t.name } };
    const spec = { enable: true, force: false };
    objects.push({
      kind: 'rls',
      address: rlsAddress,
      ...parts,
      phase: 'pre-data',
      spec,
      ...render({ kind: 'rls', spec, ...parts }),
      dependsOn: [t.address],
      owner: null,
      acl: null,
    });
    notes.set(
      rlsAddress,
      `RLS before any row is copied: "${t.schema}" is exposed by the Data API (security.rls: enable)`,
    );
  }
  if (unprotected.length > 0) {
    findings.push({
      code: 'RLS_DISABLED_EXPOSED',
      severity: 'warning',
      message: `${unprotected.length} table(s) in exposed schemas will have row level security off, readable with the public anon key: ${unprotected.slice(0, 10).join(', ')}${unprotected.length > 10 ? ', ...' : ''}`,
      hint: 'Set security.rls: enable (the default), or revoke anon and authenticated on them.',
    });
  }
  return objects;
}

/**
 * A view runs with its owner's privileges, and the connecting role (Supabase's postgres) bypasses RLS: a view in
 * an exposed schema, granted to anon and authenticated by the target's default privileges, would serve the rows
 * RLS hides (Supabase's security_definer_view lint); a materialized view has no RLS at all. With security.rls
 * enable, the statement that creates one revokes the API roles' privileges on it; grants from roles.map come after
 * (to grant it to anon again is an explicit choice).
 */
export function protectExposedViews(
  config: Config,
  objects: CatalogObject[],
  targetRoles: readonly string[],
  scope: Scope,
  notes: Map<string, string>,
): void {
  const exposed = new Set(config.security.exposedSchemas);
  if (exposed.size === 0 || config.security.rls !== 'enable') return;
  const roles = API_ROLES.filter((r) => targetRoles.includes(r));
  if (roles.length === 0) return;
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i] as CatalogObject;
    if (
      (o.kind !== 'view' && o.kind !== 'materialized_view') ||
      o.schema === null ||
      !exposed.has(o.schema) ||
      !scope.objectInScope(o)
    )
      continue;
    const view = specOf(o, o.kind);
    if (!view) continue;
    const spec = { ...view, revokeFrom: roles };
    objects[i] = {
      ...o,
      spec,
      createSql: render({ kind: o.kind, spec, schema: o.schema, name: o.name, table: o.table }).createSql,
    };
    const note = `revokes ${roles.join(', ')}: a ${o.kind === 'view' ? 'view runs as its owner, which bypasses RLS' : 'materialized view has no RLS'}`;
    const before = notes.get(o.address);
    notes.set(o.address, before ? `${before}; ${note}` : note);
  }
}

/**
 * What RLS before data means for the roles of the migration, said at plan time: a policy of an exposed table that
 * lets PUBLIC, anon or authenticated read rows will expose them through the Data API (the check after apply fails
 * with DATA_EXPOSED); roles granted on tables whose RLS pgshift adds see no row until a policy lets them.
 */
export function apiFindings(
  config: Config,
  objects: readonly CatalogObject[],
  sourceRls: ReadonlySet<string>,
): Finding[] {
  const exposed = new Set(config.security.exposedSchemas);
  if (exposed.size === 0 || config.security.rls === 'off') return [];
  const out: Finding[] = [];
  const policiesOn = new Map<string, string[]>();
  for (const o of objects) {
    const p = specOf(o, 'policy');
    if (!p || !o.table || !exposed.has(o.table.schema)) continue;
    const t = `${o.table.schema}.${o.table.name}`;
    const list = policyRoles(p).map((r) => r ?? 'PUBLIC');
    policiesOn.set(t, [...(policiesOn.get(t) ?? []), ...list]);
    const api = list.filter((r) => r === 'PUBLIC' || r === 'anon' || r === 'authenticated');
    if (p.permissive && (p.command === 'SELECT' || p.command === 'ALL') && api.length > 0) {
      out.push({
        code: 'POLICY_FOR_API_ROLES',
        severity: 'warning',
        address: o.address,
        message: `${o.address} lets ${api.join(', ')} read rows of ${t}, which the Data API serves to ${api.includes('PUBLIC') || api.includes('anon') ? 'anyone holding the public anon key' : 'every signed-in user'}`,
        hint: 'Check its USING expression; after apply, pgshift reads the table as anon and authenticated and fails with DATA_EXPOSED if rows show.',
      });
    }
  }
  const hidden = new Map<string, string[]>();
  for (const g of objects) {
    const grant = specOf(g, 'grant');
    if (!grant || !g.table || !exposed.has(g.table.schema) || !grant.privileges.includes('SELECT')) continue;
    const t = `${g.table.schema}.${g.table.name}`;
    if (sourceRls.has(`rls ${t}`) || !objects.some((o) => o.address === `rls ${t}`)) continue;
    const role = grant.grantee;
    if (
      role === 'anon' ||
      role === 'authenticated' ||
      (policiesOn.get(t) ?? []).some((r) => r === role || r === 'PUBLIC')
    )
      continue;
    hidden.set(role, [...(hidden.get(role) ?? []), t]);
  }
  for (const [role, tables] of [...hidden].sort()) {
    out.push({
      code: 'RLS_HIDES_ROWS',
      severity: 'warning',
      message: `role "${role}" may read ${tables.length} table(s) that get row level security on the target (not on the source) and no policy for it: it will see no row of ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', ...' : ''}`,
      hint: `Add policies for it (CREATE POLICY ... TO ${quoteIdent(role)} USING (...)), give it BYPASSRLS if it is a backend role, or keep those tables out of security.exposed_schemas.`,
    });
  }
  return out;
}
