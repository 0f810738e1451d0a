import { describe, expect, it } from 'vitest';
import { placeholderSpec } from '../support/specs.js';
import { fingerprint } from '../../src/catalog/fingerprint.js';
import { render, type KindSpec } from '../../src/catalog/kinds/registry.js';
import type { ColumnSpec, TableSpec } from '../../src/catalog/kinds/table.js';
import type { Catalog, CatalogObject, TableInfo } from '../../src/catalog/types.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { mapForTarget, withTargetOverrides } from '../../src/mapping/target-map.js';

function config(extra = '', provider = 'supabase'): Config {
  const r = parseConfig(
    `version: 1\nname: t\nsource:\n  url: postgres://app:pw@127.0.0.1:5432/clinic\ntarget:\n  url: postgres://postgres:pw@127.0.0.1:5433/postgres\n  provider: ${provider}\n${extra}`,
    'migration.yaml',
    {},
  );
  if (!r.config) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

function problems(extra: string): string[] {
  return parseConfig(
    `version: 1\nname: t\nsource:\n  url: postgres://app:pw@127.0.0.1:5432/a\ntarget:\n  url: postgres://postgres:pw@127.0.0.1:5433/b\n  provider: supabase\n${extra}`,
    'm.yaml',
    {},
  ).problems.map((p) => p.message);
}

const obj = (o: Partial<CatalogObject> & Pick<CatalogObject, 'kind' | 'address' | 'name'>): CatalogObject => ({
  spec: placeholderSpec(o.kind),
  schema: 'public',
  table: null,
  phase: ['schema', 'extension', 'type', 'function', 'sequence', 'table'].includes(o.kind) ? 'pre-data' : 'post-data',
  createSql: [`-- ${o.address}`],
  definition: `def ${o.address}`,
  dependsOn: [],
  owner: 'owner',
  acl: null,
  ...o,
});

/** An object as the catalog reads it: typed fields, SQL rendered from them by its kind. */
const typed = (o: Partial<CatalogObject> & KindSpec & Pick<CatalogObject, 'address' | 'name'>): CatalogObject => {
  const base = obj(o);
  return {
    ...base,
    ...render({ kind: o.kind, spec: o.spec, schema: base.schema, name: base.name, table: base.table } as Parameters<
      typeof render
    >[0]),
  };
};

const column = (name: string, type: string, extra: Partial<ColumnSpec> = {}): ColumnSpec => ({
  name,
  type,
  collation: null,
  generated: null,
  identity: null,
  default: null,
  notNull: false,
  local: true,
  ...extra,
});

const tableSpec = (columns: ColumnSpec[]): TableSpec => ({
  unlogged: false,
  partitionOf: null,
  inherits: [],
  columns,
  checks: [],
  partitionBy: null,
  accessMethod: null,
  reloptions: null,
  fixups: [],
  replicaIdentity: null,
  enableRls: false,
});

const view = (query: string) => ({ reloptions: null, query, canonicalQuery: null, populated: false, revokeFrom: [] });

const fn = (extra: { argTypes?: string; searchPath?: string[] | null; body?: string } = {}) => ({
  routine: 'function' as const,
  argTypes: extra.argTypes ?? '',
  identityArgs: extra.argTypes ?? '',
  language: 'sql',
  searchPath: extra.searchPath ?? null,
  body: extra.body ?? 'CREATE FUNCTION ...',
  aggregate: null,
});

const policy = (roles: string[], toPublic = false) => ({
  permissive: true,
  command: 'SELECT' as const,
  toPublic,
  roles,
  using: 'true',
  withCheck: null,
});

const table = (
  schema: string,
  name: string,
  columns: Array<{ name: string; default?: string; type?: string }>,
): TableInfo => ({
  schema,
  name,
  address: `table ${schema}.${name}`,
  kind: 'table',
  parent: null,
  columns: columns.map((c, i) => ({
    name: c.name,
    attnum: i + 1,
    type: c.type ?? 'uuid',
    typeName: 'uuid',
    typeSchema: 'pg_catalog',
    notNull: true,
    default: c.default ?? null,
    identity: null,
    generated: null,
    collation: null,
  })),
  key: [columns[0]?.name ?? 'id'],
  keyKind: 'primary',
  estimatedRows: 10,
  estimatedBytes: 8192,
  hasTriggers: false,
});

function catalog(objects: CatalogObject[], tables: TableInfo[], extra: Partial<Catalog> = {}): Catalog {
  return { serverVersionNum: 150000, database: 'd', fingerprint: fingerprint(objects), objects, tables, ...extra };
}

const EMPTY_TARGET = catalog([], [], { roles: ['postgres', 'anon', 'authenticated'] });

describe('mapForTarget: managed schemas and schemas.map', () => {
  const users = { schema: 'auth', name: 'users' };
  const source = catalog(
    [
      typed({ kind: 'schema', spec: {}, address: 'schema auth', name: 'auth', schema: null }),
      typed({
        kind: 'table',
        spec: tableSpec([column('id', 'uuid', { notNull: true })]),
        address: 'table auth.users',
        name: 'users',
        schema: 'auth',
        table: users,
        dependsOn: ['schema auth'],
      }),
      typed({
        kind: 'view',
        spec: view(' SELECT id FROM auth.users users'),
        address: 'view public.staff',
        name: 'staff',
        dependsOn: ['table auth.users'],
      }),
      typed({
        kind: 'comment',
        spec: { target: { on: 'SCHEMA', name: 'auth' }, text: 'auth.users' },
        address: 'comment schema auth',
        name: 'auth',
        schema: null,
        dependsOn: ['schema auth'],
      }),
    ],
    [table('auth', 'users', [{ name: 'id' }])],
  );

  it('a source schema named like a managed one is a blocker whose hint names schemas.map', () => {
    const m = mapForTarget(config(), source, EMPTY_TARGET);
    const blocker = m.findings.find((f) => f.code === 'SCHEMA_RESERVED');
    expect(blocker).toMatchObject({ severity: 'blocker', address: 'schema auth' });
    expect(blocker?.hint).toContain('schemas: { map: { auth: app_auth } }');
    // not a blocker for a plain Postgres target
    expect(mapForTarget(config('', 'postgres'), source, EMPTY_TARGET).findings).toEqual([]);
  });

  it('mapped, every address, reference and statement names the new schema (literals excepted)', () => {
    const m = mapForTarget(config('schemas:\n  map: { auth: app_auth }\n'), source, EMPTY_TARGET);
    expect(m.findings.filter((f) => f.severity === 'blocker')).toEqual([]);
    const by = new Map(m.catalog.objects.map((o) => [o.address, o]));
    expect([...by.keys()].sort()).toEqual([
      'comment schema app_auth',
      'schema app_auth',
      'table app_auth.users',
      'view public.staff',
    ]);
    expect(by.get('schema app_auth')?.createSql).toEqual(['CREATE SCHEMA IF NOT EXISTS "app_auth"']);
    expect(by.get('table app_auth.users')).toMatchObject({
      schema: 'app_auth',
      table: { schema: 'app_auth', name: 'users' },
      dependsOn: ['schema app_auth'],
    });
    expect(by.get('view public.staff')?.definition).toBe(
      'CREATE VIEW "public"."staff" AS\n SELECT id FROM app_auth.users users',
    );
    expect(by.get('table app_auth.users')?.createSql).toEqual([
      'CREATE TABLE "app_auth"."users" (\n    "id" uuid NOT NULL\n)',
    ]);
    expect(by.get('view public.staff')?.dependsOn).toEqual(['table app_auth.users']);
    expect(by.get('comment schema app_auth')?.createSql).toEqual(['COMMENT ON SCHEMA "app_auth" IS \'auth.users\'']);
    expect(m.catalog.tables.map((t) => t.address)).toEqual(['table app_auth.users']);
    // the one pairing: the source's table (as read there) and its form on the target
    expect(m.pairs.map((p) => [p.source.address, p.target.address])).toEqual([
      ['table auth.users', 'table app_auth.users'],
    ]);
    expect(m.pairs[0]?.source).toBe(source.tables[0]);
    expect(m.pairs[0]?.target).toBe(m.catalog.tables[0]);
    expect(m.notes.get('view public.staff')).toBe('rewrites auth.users -> app_auth.users');
  });

  it('tables.overrides keep naming the source schema and apply to the mapped table', () => {
    const c = withTargetOverrides(
      config(
        'schemas:\n  map: { auth: app_auth }\ntables:\n  overrides:\n    auth.users: { batch_size: 7 }\n    public.x: { batch_size: 9 }\n',
      ),
    );
    expect(c.tables.overrides).toEqual({ 'app_auth.users': { batchSize: 7 }, 'public.x': { batchSize: 9 } });
  });

  it('hostile schema names map through quoteIdent', () => {
    const weird = catalog(
      [
        typed({ kind: 'schema', spec: {}, address: 'schema We"ird', name: 'We"ird', schema: null }),
        typed({
          kind: 'table',
          spec: tableSpec([]),
          address: 'table We"ird.select',
          name: 'select',
          schema: 'We"ird',
          table: { schema: 'We"ird', name: 'select' },
        }),
      ],
      [table('We"ird', 'select', [{ name: 'id' }])],
    );
    const m = mapForTarget(
      config(
        'schemas:\n  map: { "We\\"ird": "new one" }\nsecurity: { exposed_schemas: [], acknowledge_rls_off: true }\n',
      ),
      weird,
      EMPTY_TARGET,
    );
    const by = new Map(m.catalog.objects.map((o) => [o.address, o]));
    expect(by.get('table new one.select')?.createSql).toEqual(['CREATE TABLE "new one"."select" ()']);
    expect(by.get('schema new one')?.createSql).toEqual(['CREATE SCHEMA IF NOT EXISTS "new one"']);
  });
});

describe('mapForTarget: names an object creates besides its own (schemas.map)', () => {
  // no catalog object of their own: an identity column's sequence (here not readable, so without a sequence_value)
  // and a range type's multirange, both spelled into the statement that creates their owner
  const S = 'We"ird';
  const range = {
    variant: 'range' as const,
    subtype: 'integer',
    opclass: null,
    collation: null,
    canonical: null,
    subdiff: null,
    multirange: { schema: S, name: 'Span Set' },
  };
  const identity = { always: true, sequence: { schema: S, name: 'Visit Seq', options: 'START WITH 1 INCREMENT BY 1' } };
  const source = catalog(
    [
      typed({ kind: 'schema', spec: {}, address: `schema ${S}`, name: S, schema: null }),
      typed({ kind: 'type', spec: range, address: `type ${S}.Span`, name: 'Span', schema: S }),
      typed({
        kind: 'table',
        spec: tableSpec([column('id', 'bigint', { notNull: true, identity }), column('spans', '"We""ird"."Span Set"')]),
        address: `table ${S}.Visits`,
        name: 'Visits',
        schema: S,
        dependsOn: [`type ${S}.Span`],
      }),
    ],
    [
      table(S, 'Visits', [
        { name: 'id', type: 'bigint' },
        { name: 'spans', type: '"We""ird"."Span Set"' },
      ]),
    ],
  );

  it('land in the mapped schema, and so do the columns typed by them', () => {
    const m = mapForTarget(
      config(
        `schemas:\n  map: { 'We"ird': "New 'One'" }\nsecurity: { exposed_schemas: [], acknowledge_rls_off: true }\n`,
      ),
      source,
      EMPTY_TARGET,
    );
    const by = new Map(m.catalog.objects.map((o) => [o.address, o]));
    expect(by.get("type New 'One'.Span")?.createSql).toEqual([
      `CREATE TYPE "New 'One'"."Span" AS RANGE (SUBTYPE = integer, MULTIRANGE_TYPE_NAME = "New 'One'"."Span Set")`,
    ]);
    const create = by.get("table New 'One'.Visits")?.createSql.join('\n') ?? '';
    expect(create).toContain(
      `"id" bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME "New 'One'"."Visit Seq" START WITH 1 INCREMENT BY 1) NOT NULL`,
    );
    expect(create).toContain(`"spans" "New 'One'"."Span Set"`);
    expect(create).not.toContain('We""ird');
    expect(m.catalog.tables[0]?.columns.map((c) => c.type)).toEqual(['bigint', `"New 'One'"."Span Set"`]);
    expect(m.notes.get("type New 'One'.Span")).toContain(`We"ird.Span Set -> New 'One'.Span Set`);
  });
});

describe('mapForTarget: extensions, RLS, roles', () => {
  const patients = { schema: 'public', name: 'patients' };
  const source = catalog(
    [
      typed({ kind: 'extension', spec: { createSchema: false }, address: 'extension pgcrypto', name: 'pgcrypto' }),
      typed({
        kind: 'table',
        address: 'table public.patients',
        name: 'patients',
        table: patients,
        spec: tableSpec([
          column('id', 'uuid', { default: 'public.gen_random_uuid()', notNull: true }),
          column('note', 'text', { default: "'public.gen_random_uuid()'" }),
        ]),
        acl: [
          { grantee: 'anon', privileges: ['SELECT'] },
          { grantee: 'clinic_ro', privileges: ['SELECT'] },
          { grantee: 'legacy', privileges: ['INSERT', 'SELECT', 'UPDATE'] },
          {
            grantee: 'owner',
            privileges: ['DELETE', 'INSERT', 'REFERENCES', 'SELECT', 'TRIGGER', 'TRUNCATE', 'UPDATE'],
          },
        ],
      }),
      typed({
        kind: 'table',
        spec: tableSpec([]),
        address: 'table clinic.visits',
        name: 'visits',
        schema: 'clinic',
        table: { schema: 'clinic', name: 'visits' },
      }),
      typed({
        kind: 'policy',
        spec: policy(['clinic_ro']),
        address: 'policy public.patients.own',
        name: 'own',
        table: patients,
      }),
    ],
    [
      table('public', 'patients', [{ name: 'id', default: 'public.gen_random_uuid()' }]),
      table('clinic', 'visits', [{ name: 'id' }]),
    ],
    { extensionMembers: [{ extension: 'pgcrypto', schema: 'public', name: 'gen_random_uuid' }] },
  );
  const target = catalog(
    [obj({ kind: 'extension', address: 'extension pgcrypto', name: 'pgcrypto', schema: 'extensions' })],
    [],
    { roles: ['postgres', 'anon', 'authenticated'] },
  );
  const ROLES = 'roles:\n  map: { clinic_ro: app_reader, anon: anon }\n  create: [app_reader]\n';

  it('moves extension references to the target extension schema, and says so', () => {
    const m = mapForTarget(config(ROLES), source, target);
    const t = m.catalog.objects.find((o) => o.address === 'table public.patients');
    expect(t?.createSql[0]).toBe(
      'CREATE TABLE "public"."patients" (\n    "id" uuid DEFAULT extensions.gen_random_uuid() NOT NULL,\n    "note" text DEFAULT \'public.gen_random_uuid()\'\n)',
    );
    expect(t?.definition).toContain('column "id" uuid DEFAULT extensions.gen_random_uuid() NOT NULL');
    expect(m.catalog.tables.find((x) => x.name === 'patients')?.columns[0]?.default).toBe(
      'extensions.gen_random_uuid()',
    );
    expect(m.catalog.objects.find((o) => o.address === 'extension pgcrypto')?.schema).toBe('extensions');
    expect(m.findings.find((f) => f.code === 'EXTENSION_SCHEMA_MOVED')?.message).toContain(
      '"public" on the source and in "extensions" on the target',
    );
    expect(m.notes.get('table public.patients')).toBe('rewrites public.gen_random_uuid -> extensions.gen_random_uuid');
  });

  it('warns about a routine that pins search_path to the schema an extension left', () => {
    const newId = typed({
      kind: 'function',
      address: 'function public.new_id()',
      name: 'new_id',
      spec: fn({
        searchPath: ['public', 'pg_temp'],
        body: "CREATE OR REPLACE FUNCTION public.new_id()\n RETURNS uuid\n LANGUAGE sql\n SET search_path TO 'public', 'pg_temp'\nAS $function$select gen_random_uuid()$function$",
      }),
    });
    const m = mapForTarget(config(ROLES), { ...source, objects: [...source.objects, newId] }, target);
    expect(m.findings.find((f) => f.code === 'EXTENSION_SEARCH_PATH')).toMatchObject({
      address: 'function public.new_id()',
      severity: 'warning',
    });
    expect(m.findings.find((f) => f.code === 'EXTENSION_SEARCH_PATH')?.message).toContain(
      "sets search_path to 'public', 'pg_temp': ",
    );
    expect(m.findings.find((f) => f.code === 'EXTENSION_SEARCH_PATH')?.message).toContain('public -> extensions');
  });

  it('RLS before data for tables in exposed schemas only; warn is a finding; off does nothing', () => {
    const m = mapForTarget(config(ROLES), source, target);
    const rls = m.catalog.objects.find((o) => o.address === 'rls public.patients');
    expect(rls).toMatchObject({
      phase: 'pre-data',
      createSql: ['ALTER TABLE "public"."patients" ENABLE ROW LEVEL SECURITY'],
      definition: 'enable=true force=false',
    });
    expect(m.catalog.objects.find((o) => o.address === 'table public.patients')?.createSql.at(-1)).toBe(
      'ALTER TABLE "public"."patients" ENABLE ROW LEVEL SECURITY',
    );
    expect(m.catalog.objects.find((o) => o.address === 'rls clinic.visits')).toBeUndefined();
    const warn = mapForTarget(config(`${ROLES}security: { rls: warn, acknowledge_rls_off: true }\n`), source, target);
    expect(warn.catalog.objects.find((o) => o.kind === 'rls')).toBeUndefined();
    expect(warn.findings.find((f) => f.code === 'RLS_DISABLED_EXPOSED')?.message).toContain('public.patients');
    const off = mapForTarget(config(`${ROLES}security: { rls: off, acknowledge_rls_off: true }\n`), source, target);
    expect(off.catalog.objects.find((o) => o.kind === 'rls')).toBeUndefined();
    expect(off.findings.find((f) => f.code === 'RLS_DISABLED_EXPOSED')).toBeUndefined();
  });

  it('creates asked-for roles without a password, grants to mapped roles, drops the others with a finding', () => {
    const m = mapForTarget(config(ROLES), source, target);
    const by = new Map(m.catalog.objects.map((o) => [o.address, o]));
    expect(by.get('role app_reader')?.createSql).toEqual(['CREATE ROLE "app_reader" NOLOGIN']);
    expect(m.notes.get('role app_reader')).toContain('ALTER ROLE "app_reader" WITH LOGIN PASSWORD');
    expect(by.get('grant table public.patients to app_reader')?.createSql).toEqual([
      'GRANT SELECT ON TABLE "public"."patients" TO "app_reader"',
    ]);
    expect(by.get('grant table public.patients to anon')?.createSql).toEqual([
      'GRANT SELECT ON TABLE "public"."patients" TO "anon"',
    ]);
    expect(by.get('policy public.patients.own')?.createSql[0]).toContain('TO "app_reader" USING (true)');
    expect(by.get('policy public.patients.own')?.dependsOn).toContain('role app_reader');
    expect(m.findings.map((f) => f.code).sort()).toEqual([
      'EXTENSION_SCHEMA_MOVED',
      'GRANT_DROPPED',
      'ROLE_WITHOUT_PASSWORD',
    ]);
    expect(m.findings.find((f) => f.code === 'GRANT_DROPPED')?.message).toContain('"legacy"');
  });

  it('says at plan time when a policy opens an exposed table to the API roles, and when RLS hides rows from a granted role', () => {
    const open = typed({
      kind: 'policy',
      spec: policy([], true),
      address: 'policy public.patients.everyone',
      name: 'everyone',
      table: patients,
    });
    const withOpen = { ...source, objects: [...source.objects.filter((o) => o.kind !== 'policy'), open] };
    const m = mapForTarget(config(ROLES), withOpen, target);
    expect(m.findings.find((f) => f.code === 'POLICY_FOR_API_ROLES')?.message).toContain(
      'anyone holding the public anon key',
    );
    expect(m.findings.find((f) => f.code === 'RLS_HIDES_ROWS')).toBeUndefined(); // PUBLIC's policy covers app_reader
    const noPolicy = mapForTarget(
      config(ROLES),
      { ...source, objects: source.objects.filter((o) => o.kind !== 'policy') },
      target,
    );
    expect(noPolicy.findings.find((f) => f.code === 'RLS_HIDES_ROWS')?.message).toContain(
      'role "app_reader" may read 1 table(s)',
    );
  });

  it('a reserved role the source grants to, unmapped, is a blocker; a missing policy role too', () => {
    const m = mapForTarget(config(''), source, target);
    const codes = m.findings
      .filter((f) => f.severity === 'blocker')
      .map((f) => f.code)
      .sort();
    expect(codes).toEqual(['ROLE_MISSING', 'ROLE_RESERVED']);
  });
});

describe('mapForTarget: roles.owners', () => {
  const t = { schema: 'public', name: 't' };
  const source = catalog(
    [
      obj({ kind: 'table', address: 'table public.t', name: 't', table: t, owner: 'clinic_owner' }),
      obj({ kind: 'sequence', address: 'sequence public.t_id_seq', name: 't_id_seq', owner: 'clinic_owner' }),
      obj({ kind: 'sequence_owner', address: 'sequence_owner public.t_id_seq', name: 't_id_seq', table: t }),
      typed({
        kind: 'type',
        spec: { variant: 'domain', baseType: 'text', collation: null, default: null, notNull: false, checks: [] },
        address: 'type public.email',
        name: 'email',
        owner: 'clinic_owner',
      }),
      obj({ kind: 'view', address: 'view public.v', name: 'v', owner: 'other' }),
      typed({
        kind: 'function',
        spec: fn({ argTypes: 'integer' }),
        address: 'function public.f(integer)',
        name: 'f',
        owner: 'api',
      }),
    ],
    [table('public', 't', [{ name: 'id' }])],
  );
  const target = catalog([], [], { roles: ['postgres', 'anon', 'authenticated', 'someone'], memberOf: ['postgres'] });

  it('connecting (the default): nothing changes owner', () => {
    const m = mapForTarget(
      config('roles: { map: { clinic_owner: app_owner }, create: [app_owner] }\n'),
      source,
      target,
    );
    expect(m.catalog.objects.filter((o) => o.kind === 'owner')).toEqual([]);
    expect(m.catalog.objects.find((o) => o.address === 'role app_owner')?.createSql).toEqual([
      'CREATE ROLE "app_owner" NOLOGIN',
    ]);
  });

  it('mapped: objects of mapped owners are given to their target role, which pgshift can SET ROLE to', () => {
    const m = mapForTarget(
      config(
        'roles: { map: { clinic_owner: app_owner }, create: [app_owner], owners: mapped }\nsecurity: { exposed_schemas: [], acknowledge_rls_off: true }\n',
      ),
      source,
      target,
    );
    const owners = m.catalog.objects.filter((o) => o.kind === 'owner');
    expect(owners.map((o) => o.createSql[0])).toEqual([
      'ALTER TABLE "public"."t" OWNER TO "app_owner"',
      'ALTER DOMAIN "public"."email" OWNER TO "app_owner"',
    ]);
    expect(owners[0]?.dependsOn).toEqual([
      'table public.t',
      'role app_owner',
      'grant schema public to app_owner (create, for owning)',
    ]);
    // an owner needs CREATE on the schema: planned (and shown) unless the target's acl already has it
    expect(
      m.catalog.objects.find((o) => o.address === 'grant schema public to app_owner (create, for owning)')?.createSql,
    ).toEqual(['GRANT CREATE ON SCHEMA "public" TO "app_owner"']);
    expect(m.catalog.objects.find((o) => o.address === 'role app_owner')?.createSql).toEqual([
      'CREATE ROLE "app_owner" NOLOGIN',
      'GRANT "app_owner" TO CURRENT_USER',
    ]);
    expect(m.findings.filter((f) => f.severity === 'blocker')).toEqual([]);
    // already given, or on the target before pgshift: left alone
    const done = catalog(
      [
        obj({ kind: 'table', address: 'table public.t', name: 't', table: t, owner: 'app_owner' }),
        obj({ kind: 'type', address: 'type public.email', name: 'email', owner: 'postgres' }),
      ],
      [],
      { roles: target.roles ?? [], memberOf: target.memberOf ?? [] },
    );
    expect(
      mapForTarget(
        config('roles: { map: { clinic_owner: app_owner }, create: [app_owner], owners: mapped }\n'),
        source,
        done,
      ).catalog.objects.filter((o) => o.kind === 'owner'),
    ).toEqual([]);
    const mine = mapForTarget(
      config('roles: { map: { clinic_owner: app_owner }, create: [app_owner], owners: mapped }\n'),
      source,
      done,
      new Set(['type public.email']),
    );
    expect(mine.catalog.objects.filter((o) => o.kind === 'owner').map((o) => o.address)).toEqual([
      'owner type public.email',
    ]);
  });

  it('mapped: an owner pgshift cannot SET ROLE to, or a reserved one, is a blocker', () => {
    const m = mapForTarget(
      config('roles: { map: { clinic_owner: someone, api: authenticated }, owners: mapped }\n'),
      source,
      target,
    );
    expect(m.findings.filter((f) => f.code === 'OWNER_REFUSED').map((f) => f.message)).toEqual([
      'roles.owners: mapped gives objects to "authenticated", but "authenticated" is a role Supabase reserves',
      'roles.owners: mapped gives objects to "someone", but the connecting role cannot SET ROLE to "someone"',
    ]);
  });
});

describe('roles and security settings', () => {
  it('validate refuses rls off without the acknowledgement, reserved roles to create, two schemas mapped to one, a managed target', () => {
    expect(problems('security: { rls: off }\n').join('\n')).toContain('security.acknowledge_rls_off: true');
    expect(problems('security: { rls: off, acknowledge_rls_off: true }\n')).toEqual([]);
    // on a Supabase target, warn and an empty exposed_schemas leave API-exposed tables without RLS too
    expect(problems('security: { rls: warn }\n').join('\n')).toContain('security.rls: warn on a Supabase target');
    expect(problems('security: { rls: warn, acknowledge_rls_off: true }\n')).toEqual([]);
    expect(problems('security: { exposed_schemas: [] }\n').join('\n')).toContain(
      'security.exposed_schemas: [] on a Supabase target',
    );
    expect(problems('security: { exposed_schemas: [], acknowledge_rls_off: true }\n')).toEqual([]);
    expect(problems('security: { exposed_schemas: [api] }\n')).toEqual([]);
    expect(
      problems('roles: { create: [anon, supabase_admin, app] }\n').filter((p) => p.includes('reserved role')),
    ).toHaveLength(2);
    expect(problems('schemas: { map: { a: x, b: x } }\n').join('\n')).toContain('both map to "x"');
    expect(problems('schemas: { map: { auth: storage } }\n').join('\n')).toContain(
      '"storage" is a schema Supabase manages',
    );
  });
});
