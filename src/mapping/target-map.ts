import { unsupportedFindings } from './unsupported.js';
import type { Catalog, CatalogObject, TableInfo } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import type { Finding } from '../errors/finding.js';
import { Scope } from '../catalog/scope.js';
import { mapExtension, placeExtensions, searchPathFinding } from './extensions.js';
import { collisionFindings, nameMapping } from './names.js';
import { mapPolicyRoles } from './policy-roles.js';
import type { Rewrite } from './rewrite.js';
import { apiFindings, protectExposedTables, protectExposedViews } from './rls-hardening.js';
import { planRoles } from './roles.js';
import { tablePair, type TablePair } from './table-pairs.js';
import {
  eventTriggerFindings,
  managedSchemaFindings,
  skipsManagedSchema,
  superuserLanguageFinding,
} from './supabase-rules.js';

/**
 * The source catalog as it must read on the target, and what that took. Planning diffs `catalog` (not the raw
 * source) against the target, so an extension that lives elsewhere on the target, or a schema mapped by
 * schemas.map, is an expected difference and never a drift; verification compares through the same mapping.
 */
export interface TargetMapping {
  readonly catalog: Catalog;
  /** Rewrites, blockers (managed schemas, superuser-only objects, missing roles) and RLS warnings. */
  readonly findings: readonly Finding[];
  /** Mapped address -> what was rewritten in it, for the action's reason line. */
  readonly notes: ReadonlyMap<string, string>;
  /**
   * Every source table (in the source catalog's order) with its form on the target, `catalog.tables`: the one
   * pairing that copy and verify name tables by (src/mapping/table-pairs.ts).
   */
  readonly pairs: readonly TablePair[];
}

function uniq<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

function describeRewrites(rewrites: readonly Rewrite[]): string {
  return uniq(rewrites.map((r) => `${r.from} -> ${r.to}`)).join(', ');
}

/**
 * tables.overrides keyed as the tables are named on the target (the file names the source's schemas; a schema
 * of schemas.map is renamed), for code that looks overrides up by a mapped table.
 */
export function withTargetOverrides(config: Config): Config {
  const map = config.schemas.map;
  if (Object.keys(map).length === 0) return config;
  const overrides = Object.fromEntries(
    Object.entries(config.tables.overrides).map(([key, v]) => {
      const dot = key.indexOf('.');
      const to = map[key.slice(0, dot)];
      return [to === undefined ? key : `${to}${key.slice(dot)}`, v];
    }),
  );
  return { ...config, tables: { ...config.tables, overrides } };
}

/**
 * The source catalog as it lands on the target (see TargetMapping). Pure: no IO. The steps, one module each:
 * name mapping (./names.ts, ./extensions.ts), Supabase rules (./supabase-rules.ts), roles and grants (./roles.ts,
 * ./policy-roles.ts) and RLS hardening (./rls-hardening.ts). Every step edits typed fields; SQL is rendered from
 * them by the object kinds (src/catalog/kinds/).
 */
export function mapForTarget(
  config: Config,
  source: Catalog,
  target: Catalog,
  createdByPgshift: ReadonlySet<string> = new Set(),
): TargetMapping {
  const findings: Finding[] = [];
  const notes = new Map<string, string>();
  const supabase = config.target.provider === 'supabase';
  const rawScope = new Scope(config, source);

  // extensions first: where each lives on the target decides which names move with it
  const schemasOf = nameMapping({ source, schemas: config.schemas.map, moved: new Map() });
  const placement = placeExtensions(config, source, target, schemasOf.mapSchema);
  const names = nameMapping({ source, schemas: config.schemas.map, moved: placement.moved });
  const targetSchemas = new Set(target.objects.filter((o) => o.kind === 'schema').map((o) => o.name));

  // a mapped schema must not land on another source schema
  findings.push(...collisionFindings(names));
  // event triggers are never migrated: say so at plan time
  findings.push(...eventTriggerFindings(source, supabase));
  // nor are the kinds pgshift does not create (rules, extended statistics, text search objects, ...)
  findings.push(...unsupportedFindings(source, rawScope));
  // managed schemas: a blocker unless mapped (or the schema only holds extensions, which Supabase already has)
  if (supabase) findings.push(...managedSchemaFindings(source, names.schemaMap, rawScope));

  const policyRoles = {
    roleMap: new Map(Object.entries(config.roles.map)),
    targetRoles: new Set(target.roles ?? []),
    created: new Set(config.roles.create),
    supabase,
  };
  const objects: CatalogObject[] = [];
  for (const o of source.objects) {
    if (o.kind === 'extension') {
      objects.push(
        mapExtension(config, o, placement, source, { source: names.sourceSchemas, target: targetSchemas }, findings),
      );
      continue;
    }
    if (supabase && skipsManagedSchema(o, names.schemaMap)) continue;
    const inScope = rawScope.objectInScope(o);
    const { object, rewrites } = names.mapObject(o);
    const mapped = mapPolicyRoles(object, inScope, policyRoles, findings);
    if (inScope) {
      const stale = searchPathFinding(o, placement.movedFrom);
      if (stale) findings.push(stale);
      const superuser = supabase ? superuserLanguageFinding(o) : null;
      if (superuser) findings.push(superuser);
    }
    if (rewrites.length > 0) notes.set(mapped.address, `rewrites ${describeRewrites(rewrites)}`);
    objects.push(mapped);
  }

  const pairs = source.tables.map((t) => tablePair(config, t, names.mapTable(t)));
  const tables: TableInfo[] = pairs.map((p) => p.target);

  // roles of roles.create and grants for roles.map; policies wait for the roles they name
  const mappedScope = new Scope(config, { ...source, objects, tables });
  const roles = planRoles(config, objects, (o) => mappedScope.objectInScope(o), target, createdByPgshift);
  findings.push(...roles.findings);
  for (const [a, n] of roles.notes) notes.set(a, n);
  const createdRoles = roles.objects.filter((o) => o.kind === 'role').map((o) => o.address);
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i] as CatalogObject;
    if (o.kind === 'policy' && createdRoles.length > 0)
      objects[i] = { ...o, dependsOn: [...o.dependsOn, ...createdRoles] };
  }
  objects.push(...roles.objects);

  // RLS hardening of the schemas the Data API exposes
  const sourceRls = new Set(objects.filter((o) => o.kind === 'rls').map((o) => o.address));
  const withRls = protectExposedTables(config, objects, pairs, rawScope, findings, notes);
  protectExposedViews(config, withRls, target.roles ?? [], mappedScope, notes);
  findings.push(...apiFindings(config, withRls, sourceRls));
  withRls.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return {
    catalog: { ...source, objects: withRls, tables },
    findings: dedupe(findings),
    notes,
    pairs,
  };
}

function dedupe(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const k = `${f.code}\u0000${f.address ?? ''}\u0000${f.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
