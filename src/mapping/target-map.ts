import { address } from '../catalog/address.js';
import type { Catalog, CatalogObject, ColumnInfo, TableInfo } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { qualified, quoteIdent, quoteLiteral } from '../db/ident.js';
import type { Finding } from '../errors/finding.js';
import { Scope } from '../catalog/scope.js';
import { rewriteSchemaRefs, type Rewrite, type SchemaRule } from './rewrite.js';
import { planRoles } from './roles.js';
import { extensionSchemaOf, isManagedSchema, isReservedRole } from '../config/supabase.js';
import { API_ROLES } from './api-roles.js';

export interface TableRef {
  readonly schema: string;
  readonly name: string;
}

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
  /** `schema.name` on the target -> the source table, for tables whose schema is mapped. */
  readonly sourceTables: ReadonlyMap<string, TableRef>;
}

/** Languages a non-superuser cannot create functions in. */
const SUPERUSER_LANGUAGES = new Set(['c', 'internal', 'plpythonu', 'plpython2u', 'plpython3u', 'plperlu', 'pltclu']);

function languageOf(o: CatalogObject): string | null {
  const m = /\n LANGUAGE ([A-Za-z0-9_]+)\n/.exec(o.createSql[0] ?? '');
  return m?.[1]?.toLowerCase() ?? null;
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

/** The source catalog as it lands on the target (see TargetMapping). Pure: no IO. */
export function mapForTarget(config: Config, source: Catalog, target: Catalog, createdByPgshift: ReadonlySet<string> = new Set()): TargetMapping {
  const findings: Finding[] = [];
  const notes = new Map<string, string>();
  const supabase = config.target.provider === 'supabase';
  const rawScope = new Scope(config, source);
  const sourceSchemas = new Set(source.objects.filter((o) => o.kind === 'schema').map((o) => o.name));
  for (const o of source.objects) if (o.schema) sourceSchemas.add(o.schema);
  const schemaMap = new Map(Object.entries(config.schemas.map).filter(([from]) => sourceSchemas.has(from)));
  const mapSchema = (s: string): string => schemaMap.get(s) ?? s;
  const targetObjects = new Map(target.objects.map((o) => [o.address, o]));
  const targetSchemas = new Set(target.objects.filter((o) => o.kind === 'schema').map((o) => o.name));

  // a mapped schema must not land on another source schema
  for (const [from, to] of schemaMap) {
    if (sourceSchemas.has(to)) {
      findings.push({ code: 'SCHEMA_MAP_COLLISION', severity: 'blocker', address: address.schema(from), message: `schemas.map sends "${from}" to "${to}", which the source also has`, hint: `Map "${from}" to a schema name the source does not use.` });
    }
  }

  // event triggers are never migrated (superuser only; Supabase's postgres cannot create them): say so at plan time
  for (const name of source.eventTriggers ?? []) {
    findings.push({
      code: 'EVENT_TRIGGER_NOT_MIGRATED',
      severity: 'warning',
      message: `event trigger "${name}" is not migrated: only a superuser can create event triggers${supabase ? ", and Supabase's postgres role is not one" : ''}`,
      hint: 'Recreate what it does another way on the target (a regular trigger, or a scheduled job), or accept that it is gone.',
    });
  }

  // extensions: where each one lives on the target, and the names it owns that move with it
  const extensionSchema = extensionSchemaOf(config.target);
  const moved = new Map<string, string>(); // `schema\0name` -> new schema
  const extTarget = new Map<string, string>();
  const movedFrom = new Map<string, string>(); // old extension schema -> new one
  for (const e of source.objects.filter((o) => o.kind === 'extension')) {
    const from = e.schema ?? '';
    const to = targetObjects.get(e.address)?.schema ?? extensionSchema ?? mapSchema(from);
    extTarget.set(e.address, to);
    if (to === from) continue;
    movedFrom.set(from, to);
    for (const m of source.extensionMembers ?? []) if (m.extension === e.name && m.schema === from) moved.set(`${m.schema}\u0000${m.name}`, to);
  }

  // names the source has in each schema: a.b is a reference into schema a only when b is one of them
  const namesIn = new Map<string, Set<string>>();
  const addName = (schema: string, name: string): void => {
    let set = namesIn.get(schema);
    if (!set) namesIn.set(schema, (set = new Set()));
    set.add(name);
  };
  for (const o of source.objects) if (o.schema && o.kind !== 'extension') addName(o.schema, o.name);
  for (const t of source.tables) addName(t.schema, t.name);

  const rule: SchemaRule = (schema, name) => {
    if (name !== null) {
      const ext = moved.get(`${schema}\u0000${name}`);
      if (ext !== undefined) return ext;
    }
    const to = schemaMap.get(schema);
    if (to !== undefined && (name === null || namesIn.get(schema)?.has(name) === true)) return to;
    return null;
  };
  const rewriting = moved.size > 0 || schemaMap.size > 0;
  const rewrite = (text: string, sink: Rewrite[]): string => {
    if (!rewriting) return text;
    const r = rewriteSchemaRefs(text, rule);
    sink.push(...r.rewrites);
    return r.sql;
  };

  // addresses: `<kind> <schema>.<rest>`, `schema <name>`, `comment <address>`, `function s.f(<types>)`
  const schemasLongestFirst = [...sourceSchemas].sort((a, b) => b.length - a.length);
  const mapAddress = (addr: string): string => {
    const space = addr.indexOf(' ');
    if (space < 0) return addr;
    const kind = addr.slice(0, space);
    const rest = addr.slice(space + 1);
    if (kind === 'comment') return `comment ${mapAddress(rest)}`;
    if (kind === 'extension') return addr;
    if (kind === 'schema') return `schema ${mapSchema(rest)}`;
    const schema = schemasLongestFirst.find((s) => rest.startsWith(`${s}.`));
    if (schema === undefined) return addr;
    let tail = rest.slice(schema.length);
    const paren = tail.indexOf('(');
    if (kind === 'function' && paren >= 0) tail = tail.slice(0, paren) + rewriteSchemaRefs(tail.slice(paren), rule).sql;
    return `${kind} ${mapSchema(schema)}${tail}`;
  };
  const mapRef = (t: TableRef | null): TableRef | null => (t ? { schema: mapSchema(t.schema), name: t.name } : null);

  // managed schemas: a blocker unless mapped (or the schema only holds extensions, which Supabase already has)
  if (supabase) {
    const holders = new Map<string, number>();
    for (const o of source.objects) {
      const s = o.kind === 'schema' ? null : o.kind === 'extension' ? null : o.table?.schema ?? o.schema;
      if (s && isManagedSchema(s) && !schemaMap.has(s) && rawScope.objectInScope(o)) holders.set(s, (holders.get(s) ?? 0) + 1);
    }
    for (const [s, n] of [...holders].sort()) {
      const example = s === 'auth' ? 'app_auth' : `app_${s.replace(/^_+/, '')}`;
      findings.push({
        code: 'SCHEMA_RESERVED',
        severity: 'blocker',
        address: address.schema(s),
        message: `source schema "${s}" is named like a schema Supabase manages; its ${n} object(s) cannot be created there`,
        hint: `Map it to a schema of your own in migration.yaml, e.g. schemas: { map: { ${s}: ${example} } } (every reference to it is rewritten), or leave the schema out of tables.include.`,
      });
    }
  }

  // policies name roles: mapped ones are renamed, others must exist on the target (or be created)
  const targetRoles = new Set(target.roles ?? []);
  const created = new Set(config.roles.create);
  const roleMap = new Map(Object.entries(config.roles.map));
  const mapPolicyRoles = (o: CatalogObject, sql: string): string => {
    const m = /^(CREATE POLICY .*? FOR [A-Z]+) TO ((?:PUBLIC|"(?:[^"]|"")*")(?:, (?:PUBLIC|"(?:[^"]|"")*"))*)(.*)$/s.exec(sql);
    if (!m) return sql;
    const roles = (m[2] ?? '').split(/, (?=PUBLIC|")/).map((r) => (r === 'PUBLIC' ? null : r.slice(1, -1).replace(/""/g, '"')));
    const out = roles.map((r) => {
      if (r === null) return 'PUBLIC';
      const to = roleMap.get(r);
      if (to !== undefined) return quoteIdent(to);
      if (!rawScope.objectInScope(o)) return quoteIdent(r); // not migrated: nothing to check
      if (supabase && isReservedRole(r)) {
        findings.push({ code: 'ROLE_RESERVED', severity: 'blocker', address: o.address, message: `${o.address} is granted to "${r}", a role Supabase reserves`, hint: `Say what it becomes on the target in roles.map (e.g. roles: { map: { ${r}: ${r} } } to keep it, if the target's "${r}" is meant).` });
      } else if (!targetRoles.has(r) && !created.has(r)) {
        findings.push({ code: 'ROLE_MISSING', severity: 'blocker', address: o.address, message: `${o.address} names role "${r}", which the target does not have`, hint: `Map it to a target role (roles.map), or have pgshift create it (roles.create: [${r}]).` });
      }
      return quoteIdent(r);
    });
    return `${m[1] ?? ''} TO ${out.join(', ')}${m[3] ?? ''}`;
  };

  const objects: CatalogObject[] = [];
  for (const o of source.objects) {
    if (o.kind === 'extension') {
      const to = extTarget.get(o.address) ?? o.schema ?? '';
      if (to === o.schema) {
        objects.push(o);
        continue;
      }
      const members = (source.extensionMembers ?? []).filter((m) => m.extension === o.name).length;
      findings.push({
        code: 'EXTENSION_SCHEMA_MOVED',
        severity: 'warning',
        address: o.address,
        message: `${o.address} lives in "${o.schema ?? ''}" on the source and in "${to}" on the target; references to its ${members} object(s) through "${o.schema ?? ''}" are rewritten to "${to}"`,
        hint: config.target.extensionSchema ? 'Set by target.extension_schema.' : 'Set target.extension_schema to choose another schema.',
      });
      const sql = [
        ...(targetSchemas.has(to) || sourceSchemas.has(to) ? [] : [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(to)}`]),
        `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(o.name)} WITH SCHEMA ${quoteIdent(to)}`,
      ];
      const dependsOn = sourceSchemas.has(to) ? [address.schema(to)] : [];
      objects.push({ ...o, schema: to, createSql: sql, definition: `extension ${quoteIdent(o.name)} schema ${quoteIdent(to)}`, dependsOn });
      continue;
    }
    if (o.kind === 'schema' && supabase && isManagedSchema(o.name) && !schemaMap.has(o.name)) {
      // the target has it (extensions, ...) and pgshift may not create it; what is in it is a blocker above
      continue;
    }
    const rewrites: Rewrite[] = [];
    let createSql = o.createSql.map((s) => rewrite(s, rewrites));
    if (o.kind === 'sequence_value' && o.schema !== null && schemaMap.has(o.schema)) {
      // setval('"schema"."name"', ...): the sequence is named in a literal
      const from = quoteLiteral(qualified(o.schema, o.name));
      createSql = createSql.map((s) => s.split(from).join(quoteLiteral(qualified(mapSchema(o.schema ?? ''), o.name))));
    }
    const definitionRewrites: Rewrite[] = [];
    let definition = rewrite(o.definition, definitionRewrites);
    if (o.kind === 'policy') {
      createSql = createSql.map((s) => mapPolicyRoles(o, s));
      definition = mapPolicyRolesQuiet(definition, roleMap);
    }
    if (o.kind === 'function' && movedFrom.size > 0 && rawScope.objectInScope(o)) {
      // a routine that pins search_path to the extension's old schema calls its objects unqualified there
      const path = /\n SET search_path TO ([^\n]*)\n/.exec(o.createSql[0] ?? '')?.[1];
      const listed = path ? [...path.matchAll(/'((?:[^']|'')*)'|([^\s,]+)/g)].map((x) => (x[1] ?? x[2] ?? '').replace(/''/g, "'").replace(/^"|"$/g, '')) : [];
      const stale = [...movedFrom].filter(([from, to]) => listed.includes(from) && !listed.includes(to));
      if (stale.length > 0) {
        findings.push({
          code: 'EXTENSION_SEARCH_PATH',
          severity: 'warning',
          address: o.address,
          message: `${o.address} sets search_path to ${path ?? ''}: extension objects it calls unqualified are no longer there on the target (${stale.map(([f, t]) => `${f} -> ${t}`).join(', ')})`,
          hint: `Add ${stale.map(([, t]) => t).join(', ')} to its search_path (ALTER FUNCTION ... SET search_path), or qualify the calls.`,
        });
      }
    }
    if (supabase && o.kind === 'function') {
      const lang = languageOf(o);
      if (lang && SUPERUSER_LANGUAGES.has(lang) && rawScope.objectInScope(o)) {
        findings.push({
          code: 'NEEDS_SUPERUSER',
          severity: 'blocker',
          address: o.address,
          message: `${o.address} is written in LANGUAGE ${lang}, which only a superuser can create; Supabase's postgres role is not one`,
          hint: 'Rewrite it in SQL or plpgsql on the source, use an extension Supabase offers instead, or exclude its schema.',
        });
      }
    }
    const mapped: CatalogObject = {
      ...o,
      address: mapAddress(o.address),
      schema: o.kind === 'schema' ? null : o.schema === null ? null : mapSchema(o.schema),
      name: o.kind === 'schema' ? mapSchema(o.name) : o.name,
      table: mapRef(o.table),
      createSql,
      definition,
      dependsOn: o.dependsOn.map(mapAddress),
    };
    if (rewrites.length > 0) notes.set(mapped.address, `rewrites ${describeRewrites(rewrites)}`);
    objects.push(mapped);
  }

  const sourceTables = new Map<string, TableRef>();
  const mapColumn = (c: ColumnInfo): ColumnInfo => {
    const sink: Rewrite[] = [];
    return {
      ...c,
      type: rewrite(c.type, sink),
      typeSchema: moved.get(`${c.typeSchema}\u0000${c.typeName}`) ?? mapSchema(c.typeSchema),
      default: c.default === null ? null : rewrite(c.default, sink),
      generated: c.generated === null ? null : rewrite(c.generated, sink),
    };
  };
  const tables: TableInfo[] = source.tables.map((t) => {
    const schema = mapSchema(t.schema);
    if (schema !== t.schema) sourceTables.set(`${schema}.${t.name}`, { schema: t.schema, name: t.name });
    return { ...t, schema, address: address.table(schema, t.name), parent: mapRef(t.parent), columns: t.columns.map(mapColumn) };
  });

  // roles of roles.create and grants for roles.map; policies wait for the roles they name
  const mappedScope = new Scope(config, { ...source, objects, tables });
  const roles = planRoles(config, objects, (o) => mappedScope.objectInScope(o), target, createdByPgshift);
  findings.push(...roles.findings);
  for (const [a, n] of roles.notes) notes.set(a, n);
  const createdRoles = roles.objects.filter((o) => o.kind === 'role').map((o) => o.address);
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i] as CatalogObject;
    if (o.kind === 'policy' && createdRoles.length > 0) objects[i] = { ...o, dependsOn: [...o.dependsOn, ...createdRoles] };
  }
  objects.push(...roles.objects);

  const sourceRls = new Set(objects.filter((o) => o.kind === 'rls').map((o) => o.address));
  const withRls = protectExposedTables(config, objects, tables, rawScope, sourceTables, findings, notes);
  protectExposedViews(config, withRls, target, mappedScope, notes);
  findings.push(...apiFindings(config, withRls, sourceRls));
  withRls.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return {
    catalog: { ...source, objects: withRls, tables },
    findings: dedupe(findings),
    notes,
    sourceTables,
  };
}

/**
 * What RLS before data means for the roles of the migration, said at plan time: a policy of an exposed table that
 * lets PUBLIC, anon or authenticated read rows will expose them through the Data API (the check after apply fails
 * with DATA_EXPOSED); roles granted on tables whose RLS pgshift adds see no row until a policy lets them.
 */
function apiFindings(config: Config, objects: readonly CatalogObject[], sourceRls: ReadonlySet<string>): Finding[] {
  const exposed = new Set(config.security.exposedSchemas);
  if (exposed.size === 0 || config.security.rls === 'off') return [];
  const out: Finding[] = [];
  const policiesOn = new Map<string, string[]>();
  for (const o of objects) {
    if (o.kind !== 'policy' || !o.table || !exposed.has(o.table.schema)) continue;
    const t = `${o.table.schema}.${o.table.name}`;
    const roles = /^CREATE POLICY .*? AS (PERMISSIVE|RESTRICTIVE) FOR ([A-Z]+) TO (.*?)(?: USING \(| WITH CHECK \(|$)/s.exec(o.createSql[0] ?? '');
    const list = (roles?.[3] ?? '').split(', ').map((r) => (r === 'PUBLIC' ? r : r.slice(1, -1).replace(/""/g, '"')));
    policiesOn.set(t, [...(policiesOn.get(t) ?? []), ...list]);
    const api = list.filter((r) => r === 'PUBLIC' || r === 'anon' || r === 'authenticated');
    if (roles?.[1] === 'PERMISSIVE' && (roles[2] === 'SELECT' || roles[2] === 'ALL') && api.length > 0) {
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
    if (g.kind !== 'grant' || !g.table || !exposed.has(g.table.schema) || !/^GRANT (?:[A-Z]+, )*SELECT[ ,]/.test(g.createSql[0] ?? '')) continue;
    const t = `${g.table.schema}.${g.table.name}`;
    if (sourceRls.has(`rls ${t}`) || !objects.some((o) => o.address === `rls ${t}`)) continue;
    const role = g.address.slice(g.address.lastIndexOf(' to ') + 4);
    if (role === 'anon' || role === 'authenticated' || (policiesOn.get(t) ?? []).some((r) => r === role || r === 'PUBLIC')) continue;
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

/**
 * A view runs with its owner's privileges, and the connecting role (Supabase's postgres) bypasses RLS: a view in
 * an exposed schema, granted to anon and authenticated by the target's default privileges, would serve the rows
 * RLS hides (Supabase's security_definer_view lint); a materialized view has no RLS at all. With security.rls
 * enable, the statement that creates one revokes the API roles' privileges on it; grants from roles.map come after
 * (to grant it to anon again is an explicit choice).
 */
function protectExposedViews(config: Config, objects: CatalogObject[], target: Catalog, scope: Scope, notes: Map<string, string>): void {
  const exposed = new Set(config.security.exposedSchemas);
  if (exposed.size === 0 || config.security.rls !== 'enable') return;
  const roles = API_ROLES.filter((r) => (target.roles ?? []).includes(r));
  if (roles.length === 0) return;
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i] as CatalogObject;
    if ((o.kind !== 'view' && o.kind !== 'materialized_view') || o.schema === null || !exposed.has(o.schema) || !scope.objectInScope(o)) continue;
    const revoke = `REVOKE ALL ON TABLE ${qualified(o.schema, o.name)} FROM ${roles.map(quoteIdent).join(', ')}`;
    objects[i] = { ...o, createSql: [...o.createSql, revoke] };
    const note = `revokes ${roles.join(', ')}: a ${o.kind === 'view' ? 'view runs as its owner, which bypasses RLS' : 'materialized view has no RLS'}`;
    const before = notes.get(o.address);
    notes.set(o.address, before ? `${before}; ${note}` : note);
  }
}

function mapPolicyRolesQuiet(sql: string, roleMap: ReadonlyMap<string, string>): string {
  const m = /^(CREATE POLICY .*? FOR [A-Z]+) TO ((?:PUBLIC|"(?:[^"]|"")*")(?:, (?:PUBLIC|"(?:[^"]|"")*"))*)(.*)$/s.exec(sql);
  if (!m) return sql;
  const roles = (m[2] ?? '').split(/, (?=PUBLIC|")/).map((r) => (r === 'PUBLIC' ? 'PUBLIC' : quoteIdent(roleMap.get(r.slice(1, -1).replace(/""/g, '"')) ?? r.slice(1, -1).replace(/""/g, '"'))));
  return `${m[1] ?? ''} TO ${roles.join(', ')}${m[3] ?? ''}`;
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

/**
 * RLS before data: with security.rls enable, every migrated table in an exposed schema gets ROW LEVEL SECURITY in
 * the same transaction that creates it (so no row is ever readable through the Data API), and an `rls` object
 * in the schema phase (for tables that already exist on the target: it runs before their copy). Tables that had
 * RLS on the source keep theirs (and their FORCE), also in the schema phase. With `warn`, a finding lists them.
 */
function protectExposedTables(
  config: Config,
  objects: CatalogObject[],
  tables: readonly TableInfo[],
  rawScope: Scope,
  sourceTables: ReadonlyMap<string, TableRef>,
  findings: Finding[],
  notes: Map<string, string>,
): CatalogObject[] {
  const exposed = new Set(config.security.exposedSchemas);
  if (exposed.size === 0 || config.security.rls === 'off') return objects;
  const byAddress = new Map(objects.map((o, i) => [o.address, i]));
  const unprotected: string[] = [];
  for (const t of tables) {
    const src = sourceTables.get(`${t.schema}.${t.name}`) ?? t;
    if (!exposed.has(t.schema) || !rawScope.tableInScope(src.schema, src.name)) continue;
    const tableAt = byAddress.get(t.address);
    if (tableAt === undefined) continue;
    const rlsAddress = address.rls(t.schema, t.name);
    const rlsAt = byAddress.get(rlsAddress);
    const q = qualified(t.schema, t.name);
    if (rlsAt === undefined && config.security.rls === 'warn') {
      unprotected.push(`${t.schema}.${t.name}`);
      continue;
    }
    const table = objects[tableAt] as CatalogObject;
    objects[tableAt] = { ...table, createSql: [...table.createSql, `ALTER TABLE ${q} ENABLE ROW LEVEL SECURITY`] };
    if (rlsAt !== undefined) {
      // the source's own RLS: before the copy too, unless it FORCEs RLS on the owner (a COPY by an owner without
      // BYPASSRLS would then be refused; the statement that creates the table has enabled RLS already)
      const rls = objects[rlsAt] as CatalogObject;
      if (!rls.createSql.some((sql) => sql.includes('FORCE ROW LEVEL SECURITY'))) objects[rlsAt] = { ...rls, phase: 'pre-data' };
      continue;
    }
    const sql = `ALTER TABLE ${q} ENABLE ROW LEVEL SECURITY`;
    objects.push({
      kind: 'rls',
      address: rlsAddress,
      schema: t.schema,
      name: t.name,
      table: { schema: t.schema, name: t.name },
      phase: 'pre-data',
      createSql: [sql],
      definition: 'enable=true force=false',
      dependsOn: [t.address],
      owner: null,
      acl: null,
    });
    notes.set(rlsAddress, `RLS before any row is copied: "${t.schema}" is exposed by the Data API (security.rls: enable)`);
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
