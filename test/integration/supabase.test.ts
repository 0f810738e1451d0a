/**
 * Into a Supabase-like target (a PostgreSQL 17 cluster bootstrapped by ../shared/fixtures/supabase-like/bootstrap.sql
 * as supabase_admin, migrated into as the NON-superuser `postgres`), through the built CLI:
 * - a source with uuid-ossp and pgcrypto in public, defaults, a view, a function, an index expression and a check
 *   calling them, tables in public and in another schema, owners and grants for two app roles, an RLS policy, and
 *   the pagila fixture: apply succeeds, the rows compare equal, the extension references point at `extensions`,
 *   and anon / authenticated read no row of any migrated table in public;
 * - a source schema named `auth` is a blocker at plan time (exit 1, nothing changed) and migrates once mapped.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/catalog/introspect.js';
import { runCli } from '../e2e/cli.js';
import { expectSameData, tableChecksums } from '../support/compare.js';
import { configDir } from '../support/config.js';
import {
  createDatabase,
  dropDatabase,
  quoteIdent,
  testServers,
  uniqueDatabaseName,
  withDatabase,
  withPg,
} from '../support/databases.js';
import { fixturesDir } from '../support/fixtures.js';
import { loadSqlFile } from '../support/load-sql.js';
import {
  freshSupabaseDatabase,
  stopSupabaseLike,
  supabaseLikeUnavailable,
  type SupabaseDatabase,
} from '../support/supabase.js';

const unavailable = supabaseLikeUnavailable();
if (unavailable) console.warn(`supabase: ${unavailable}: these tests are skipped`);
const fixtures = fixturesDir();

const cfg = configDir('supabase');
afterAll(async () => {
  cfg.remove();
  await stopSupabaseLike();
});

/** A database on the shared source server (15); the target is the Supabase-like cluster. */
async function sourceDatabase(label: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const admin = testServers().source.adminUrl;
  const name = uniqueDatabaseName(label);
  await createDatabase(admin, name);
  return { name, url: withDatabase(admin, name), drop: () => dropDatabase(admin, name) };
}

function supabaseConfig(extra = ''): string {
  return `version: 1
name: to-supabase
source:
  url: \${SOURCE_DATABASE_URL}
target:
  url: \${TARGET_DATABASE_URL}
  provider: supabase
copy: { parallel: 2, batch_size: 2000 }
${extra}`;
}

async function readAs(
  adminUrl: string,
  role: string,
  tables: readonly string[],
): Promise<Record<string, number | 'denied'>> {
  return withPg(adminUrl, async (c) => {
    const out: Record<string, number | 'denied'> = {};
    for (const t of tables) {
      await c.query('BEGIN');
      try {
        await c.query(`SET LOCAL ROLE ${quoteIdent(role)}`);
        const r = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`);
        out[t] = Number(r.rows[0]?.n);
      } catch (err) {
        if ((err as { code?: string }).code !== '42501') throw err;
        out[t] = 'denied';
      } finally {
        await c.query('ROLLBACK');
      }
    }
    return out;
  });
}

describe.runIf(unavailable === null && fixtures !== null)('Supabase-like target, non-superuser postgres', () => {
  it('migrates extensions in public, two schemas, app roles, grants, an RLS policy and pagila; anon reads nothing', async () => {
    const src = await sourceDatabase('supa_src');
    let tgt: SupabaseDatabase | undefined;
    const writer = `${src.name}_writer`;
    const reader = `${src.name}_reader`;
    try {
      tgt = await freshSupabaseDatabase('supa_tgt');
      for (const f of ['pagila/pagila-schema.sql', 'pagila/pagila-data.sql'])
        await loadSqlFile(src.url, join(fixtures as string, 'realdb', f));
      await withPg(src.url, (c) =>
        c.query(`
          CREATE ROLE ${quoteIdent(writer)} NOLOGIN; CREATE ROLE ${quoteIdent(reader)} NOLOGIN;
          CREATE EXTENSION "uuid-ossp" WITH SCHEMA public; CREATE EXTENSION pgcrypto WITH SCHEMA public;
          CREATE SCHEMA clinic;
          CREATE TABLE public.patients (
            id uuid PRIMARY KEY DEFAULT public.uuid_generate_v4(),
            name text NOT NULL,
            email text,
            seen_by text NOT NULL DEFAULT current_user,
            CONSTRAINT not_nil CHECK (id <> public.uuid_nil()));
          CREATE INDEX patients_email_digest ON public.patients (public.digest(coalesce(email, ''), 'sha256'));
          CREATE TABLE clinic.visits (
            id uuid PRIMARY KEY DEFAULT public.gen_random_uuid(),
            patient_id uuid NOT NULL REFERENCES public.patients (id),
            note text,
            token text NOT NULL DEFAULT encode(public.gen_random_bytes(8), 'hex'));
          CREATE FUNCTION clinic.new_token() RETURNS text LANGUAGE sql AS $$ SELECT encode(public.gen_random_bytes(4), 'hex') $$;
          CREATE VIEW clinic.patient_ids AS SELECT id, public.uuid_generate_v5(public.uuid_ns_url(), name) AS stable_id FROM public.patients;
          ALTER TABLE public.patients OWNER TO ${quoteIdent(writer)};
          ALTER TABLE clinic.visits OWNER TO ${quoteIdent(writer)};
          GRANT USAGE ON SCHEMA clinic TO ${quoteIdent(reader)};
          GRANT SELECT ON public.patients, clinic.visits TO ${quoteIdent(reader)};
          ALTER TABLE public.patients ENABLE ROW LEVEL SECURITY;
          CREATE POLICY own_rows ON public.patients FOR SELECT TO ${quoteIdent(reader)} USING (seen_by = current_user);
          CREATE TABLE public."we""ird Tåble" (id uuid PRIMARY KEY DEFAULT public.uuid_generate_v1mc(), "select" text DEFAULT 'public.uuid_generate_v4()');
          INSERT INTO public."we""ird Tåble" ("select") SELECT 'row ' || g FROM generate_series(1, 10) g;
          INSERT INTO public.patients (name, email) SELECT 'patient ' || g, 'p' || g || '@example.org' FROM generate_series(1, 300) g;
          INSERT INTO clinic.visits (patient_id, note) SELECT id, 'visit' FROM public.patients;
          ANALYZE;`),
      );
      const env = { SOURCE_DATABASE_URL: src.url, TARGET_DATABASE_URL: tgt.url };
      const file = cfg.write(
        supabaseConfig(`roles:
  map: { ${writer}: app_writer, ${reader}: app_reader }
  create: [app_writer, app_reader]
`),
        'full.yaml',
      );

      const plan = runCli(['plan', '-c', file], env);
      expect(plan.status, plan.stderr + plan.stdout).toBe(0);
      expect(plan.stdout).toContain('[EXTENSION_SCHEMA_MOVED]');
      expect(plan.stdout).toMatch(
        /\+ table public\.patients\s+not on the target; rewrites public\.uuid_generate_v4 -> extensions\.uuid_generate_v4, public\.uuid_nil -> extensions\.uuid_nil/,
      );
      expect(plan.stdout).toMatch(/\+ rls public\.film\s+.*RLS before any row is copied/);
      expect(plan.stdout).toMatch(
        /\+ role app_reader\s+not on the target; created NOLOGIN without a password; to let it log in, run ALTER ROLE "app_reader" WITH LOGIN PASSWORD/,
      );
      expect(plan.stdout).toContain('[ROLE_WITHOUT_PASSWORD]');

      const applied = runCli(['apply', '-c', file, '--auto-approve'], env);
      expect(applied.status, applied.stderr + applied.stdout).toBe(0);
      expect(applied.stdout).toMatch(
        /Security: anon and authenticated read no row of the \d+ migrated table\(s\) and \d+ view\(s\) in public, graphql_public/,
      );
      expect(plan.stdout).toMatch(
        /\+ view public\.customer_list\s+not on the target; revokes anon, authenticated: a view runs as its owner, which bypasses RLS/,
      );

      // the same rows in every migrated table (the target also has Supabase's own, empty, tables)
      await expectSameData(src.url, tgt.adminUrl, { ignoreTargetOnly: true });

      const target = await withPg(tgt.adminUrl, async (c) => {
        await c.query("SET search_path = ''"); // deparse with every schema spelled out
        const defaults = await c.query<{ col: string; def: string }>(
          `SELECT c.relname || '.' || a.attname AS col, pg_get_expr(d.adbin, d.adrelid) AS def
             FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
            WHERE c.relname IN ('patients', 'visits') ORDER BY 1`,
        );
        const ext = await c.query<{ extname: string; nspname: string }>(
          `SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname IN ('uuid-ossp', 'pgcrypto') ORDER BY 1`,
        );
        const weird = await c.query<{ col: string; def: string }>(
          `SELECT a.attname::text AS col, pg_get_expr(d.adbin, d.adrelid) AS def FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
            WHERE d.adrelid = 'public."we""ird Tåble"'::regclass ORDER BY 1`,
        );
        const view = await c.query<{ def: string }>(`SELECT pg_get_viewdef('clinic.patient_ids'::regclass) AS def`);
        const fn = await c.query<{ def: string }>(
          `SELECT pg_get_functiondef('clinic.new_token()'::regprocedure) AS def`,
        );
        const idx = await c.query<{ def: string }>(
          `SELECT pg_get_indexdef('public.patients_email_digest'::regclass) AS def`,
        );
        const policy = await c.query<{ roles: string[] }>(
          `SELECT roles::text[] AS roles FROM pg_policies WHERE tablename = 'patients' AND policyname = 'own_rows'`,
        );
        const roles = await c.query<{ rolname: string; rolcanlogin: boolean }>(
          `SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN ('app_reader', 'app_writer') ORDER BY 1`,
        );
        const grants = await c.query<{ p: boolean; v: boolean; u: boolean }>(
          `SELECT has_table_privilege('app_reader', 'public.patients', 'SELECT') AS p, has_table_privilege('app_reader', 'clinic.visits', 'SELECT') AS v,
                  has_schema_privilege('app_reader', 'clinic', 'USAGE') AS u`,
        );
        const owners = await c.query<{ owner: string }>(
          `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname IN ('patients', 'visits', 'film')`,
        );
        return {
          weird: weird.rows,
          defaults: defaults.rows,
          ext: ext.rows,
          view: view.rows[0]?.def,
          fn: fn.rows[0]?.def,
          idx: idx.rows[0]?.def,
          policy: policy.rows,
          roles: roles.rows,
          grants: grants.rows[0],
          owners: owners.rows,
        };
      });
      expect(target.ext).toEqual([
        { extname: 'pgcrypto', nspname: 'extensions' },
        { extname: 'uuid-ossp', nspname: 'extensions' },
      ]);
      expect(target.defaults).toEqual([
        { col: 'patients.id', def: 'extensions.uuid_generate_v4()' },
        { col: 'patients.seen_by', def: 'CURRENT_USER' },
        { col: 'visits.id', def: 'extensions.gen_random_uuid()' },
        { col: 'visits.token', def: "encode(extensions.gen_random_bytes(8), 'hex'::text)" },
      ]);
      // a hostile name, and a string literal that spells an extension call (data: unchanged)
      expect(target.weird).toEqual([
        { col: 'id', def: 'extensions.uuid_generate_v1mc()' },
        { col: 'select', def: "'public.uuid_generate_v4()'::text" },
      ]);
      expect(target.view).toContain('extensions.uuid_generate_v5(extensions.uuid_ns_url(), name)');
      expect(target.fn).toContain('extensions.gen_random_bytes(4)');
      expect(target.idx).toContain('extensions.digest(');
      expect(target.policy).toEqual([{ roles: ['app_reader'] }]);
      expect(target.roles).toEqual([
        { rolname: 'app_reader', rolcanlogin: false },
        { rolname: 'app_writer', rolcanlogin: false },
      ]);
      expect(target.grants).toEqual({ p: true, v: true, u: true });
      expect(target.owners).toEqual([{ owner: 'postgres' }]);

      // the defaults work on the target (as the non-superuser postgres)
      const inserted = await withPg(tgt.url, async (c) => {
        await c.query('BEGIN');
        const r = await c.query<{ token: string }>(
          `WITH p AS (INSERT INTO public.patients (name) VALUES ('new') RETURNING id) INSERT INTO clinic.visits (patient_id) SELECT id FROM p RETURNING token`,
        );
        await c.query('ROLLBACK');
        return r.rows[0]?.token;
      });
      expect(inserted).toMatch(/^[0-9a-f]{16}$/);

      // the Data API roles read no row of any migrated table in public, and RLS is on for every one
      const publicTables = (await tableChecksums(src.url)).map((t) => t.table).filter((t) => t.startsWith('public.'));
      expect(publicTables.length).toBeGreaterThan(20);
      const quoted = publicTables.map((t) => `public.${quoteIdent(t.slice('public.'.length))}`);
      for (const role of ['anon', 'authenticated']) {
        const seen = await readAs(tgt.adminUrl, role, quoted);
        expect(
          Object.entries(seen).filter(([, n]) => n !== 0 && n !== 'denied'),
          role,
        ).toEqual([]);
      }
      // views run as their owner (postgres bypasses RLS) and materialized views have no RLS: the API roles hold no
      // privilege on them (pagila's customer_list would otherwise serve names, addresses and phone numbers)
      const views = await withPg(tgt.adminUrl, (c) =>
        c.query<{ q: string }>(
          `SELECT format('public.%I', relname) AS q FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('v', 'm') ORDER BY 1`,
        ),
      );
      expect(views.rows.length).toBeGreaterThan(5);
      for (const role of ['anon', 'authenticated']) {
        const seen = await readAs(
          tgt.adminUrl,
          role,
          views.rows.map((r) => r.q),
        );
        expect(
          Object.entries(seen).filter(([, n]) => n !== 0 && n !== 'denied'),
          role,
        ).toEqual([]);
      }
      const rlsOff = await withPg(tgt.adminUrl, (c) =>
        c.query<{ relname: string }>(
          `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') AND NOT relrowsecurity`,
        ),
      );
      expect(rlsOff.rows).toEqual([]);

      const verified = runCli(['verify', '-c', file, '--full'], env);
      expect(verified.status, verified.stdout + verified.stderr).toBe(0);
      expect(verified.stdout).toMatch(/Security: anon and authenticated read no row/);
      const again = runCli(['plan', '-c', file, '--detailed-exitcode'], env);
      expect(again.status, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toContain('No changes.');
    } finally {
      await tgt?.drop();
      await src.drop();
      await withPg(testServers().source.adminUrl, (c) =>
        c.query(`DROP ROLE IF EXISTS ${quoteIdent(writer)}; DROP ROLE IF EXISTS ${quoteIdent(reader)}`),
      );
    }
  });

  it('a source schema named auth is a blocker at plan time (exit 1, nothing changed); mapped, it migrates', async () => {
    const src = await sourceDatabase('supa_auth');
    let tgt: SupabaseDatabase | undefined;
    try {
      tgt = await freshSupabaseDatabase('supa_auth_tgt');
      await withPg(src.url, (c) =>
        c.query(`
          CREATE SCHEMA auth;
          CREATE TYPE auth.kind AS ENUM ('staff', 'patient');
          CREATE FUNCTION auth.default_kind() RETURNS auth.kind LANGUAGE sql IMMUTABLE AS $$ SELECT 'patient'::auth.kind $$;
          CREATE TABLE auth.users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL, kind auth.kind NOT NULL DEFAULT auth.default_kind());
          CREATE TABLE public.sessions (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES auth.users (id), note text DEFAULT 'auth.users');
          CREATE VIEW public.staff AS SELECT u.id, u.email FROM auth.users u WHERE u.kind = 'staff'::auth.kind;
          COMMENT ON SCHEMA auth IS 'our own auth';
          INSERT INTO auth.users (email, kind) SELECT 'u' || g || '@example.org', CASE WHEN g % 3 = 0 THEN 'staff' ELSE 'patient' END::auth.kind FROM generate_series(1, 50) g;
          INSERT INTO public.sessions SELECT g, g FROM generate_series(1, 50) g;`),
      );
      const env = { SOURCE_DATABASE_URL: src.url, TARGET_DATABASE_URL: tgt.url };
      const before = await withPg(tgt.adminUrl, (c) => introspect(c));

      const file = cfg.write(supabaseConfig(), 'auth.yaml');
      const plan = runCli(['plan', '-c', file], env);
      expect(plan.status, plan.stdout + plan.stderr).toBe(1);
      expect(plan.stdout).toContain(
        'Error [SCHEMA_RESERVED]: source schema "auth" is named like a schema Supabase manages',
      );
      expect(plan.stderr).toContain('Error [PLAN_BLOCKED]');
      expect(plan.stderr).toContain('schemas: { map: { auth: app_auth } }');
      const apply = runCli(['apply', '-c', file, '--auto-approve'], env);
      expect(apply.status, apply.stdout + apply.stderr).toBe(1);
      expect(apply.stderr).toContain('Error [PLAN_BLOCKED]');
      const after = await withPg(tgt.adminUrl, (c) => introspect(c));
      expect(after.fingerprint).toBe(before.fingerprint); // no object of the target changed
      const untouched = await withPg(tgt.adminUrl, (c) =>
        c.query<{ n: string; state: string | null }>(
          `SELECT (SELECT count(*) FROM auth.users)::text AS n, to_regnamespace('pgshift')::text AS state`,
        ),
      );
      expect(untouched.rows[0]).toEqual({ n: '0', state: null }); // not even pgshift's state schema

      const mapped = cfg.write(supabaseConfig('schemas:\n  map: { auth: app_auth }\n'), 'auth-mapped.yaml');
      const planned = runCli(['plan', '-c', mapped], env);
      expect(planned.status, planned.stdout + planned.stderr).toBe(0);
      expect(planned.stdout).toMatch(
        /\+ table app_auth\.users\s+not on the target; rewrites auth\.users -> app_auth\.users, auth\.users_id_seq -> app_auth\.users_id_seq, auth\.kind -> app_auth\.kind, auth\.default_kind -> app_auth\.default_kind/,
      );
      const applied = runCli(['apply', '-c', mapped, '--auto-approve'], env);
      expect(applied.status, applied.stdout + applied.stderr).toBe(0);
      const t = await withPg(tgt.adminUrl, async (c) => ({
        path: (await c.query("SET search_path = ''")).command,
        users: (await c.query<{ n: string }>('SELECT count(*) AS n FROM app_auth.users')).rows[0]?.n,
        staff: (await c.query<{ n: string }>('SELECT count(*) AS n FROM public.staff')).rows[0]?.n,
        supabaseUsers: (await c.query<{ n: string }>('SELECT count(*) AS n FROM auth.users')).rows[0]?.n,
        view: (await c.query<{ def: string }>(`SELECT pg_get_viewdef('public.staff'::regclass) AS def`)).rows[0]?.def,
        fk: (
          await c.query<{ def: string }>(
            `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'public.sessions'::regclass AND contype = 'f'`,
          )
        ).rows[0]?.def,
        comment: (await c.query<{ d: string }>(`SELECT obj_description('app_auth'::regnamespace, 'pg_namespace') AS d`))
          .rows[0]?.d,
        sessionDefault: (
          await c.query<{ def: string }>(
            `SELECT pg_get_expr(adbin, adrelid) AS def FROM pg_attrdef WHERE adrelid = 'public.sessions'::regclass`,
          )
        ).rows[0]?.def,
      }));
      expect(t).toEqual({
        path: 'SET',
        users: '50',
        staff: '16',
        supabaseUsers: '0',
        view: expect.stringContaining('FROM app_auth.users u') as unknown as string,
        fk: 'FOREIGN KEY (user_id) REFERENCES app_auth.users(id)',
        comment: 'our own auth',
        sessionDefault: "'auth.users'::text", // a string that spells the old name is data: unchanged
      });
      const verified = runCli(['verify', '-c', mapped, '--full'], env);
      expect(verified.status, verified.stdout + verified.stderr).toBe(0);
      expect(verified.stdout).toContain('app_auth.users');
      const again = runCli(['plan', '-c', mapped, '--detailed-exitcode'], env);
      expect(again.status, again.stdout + again.stderr).toBe(0);
    } finally {
      await tgt?.drop();
      await src.drop();
    }
  });

  it('objects only a superuser can create are plan-time findings, never a failure in the middle of apply', async () => {
    const src = await sourceDatabase('supa_su');
    let tgt: SupabaseDatabase | undefined;
    try {
      tgt = await freshSupabaseDatabase('supa_su_tgt');
      await withPg(src.url, (c) =>
        c.query(`
          CREATE SCHEMA legacy;
          CREATE FUNCTION legacy.my_abs(integer) RETURNS integer LANGUAGE internal IMMUTABLE STRICT AS 'int4abs';
          CREATE FUNCTION public.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'ddl'; END $$;
          CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION public.log_ddl();
          CREATE TABLE public.notes (id int PRIMARY KEY, body text);
          INSERT INTO public.notes VALUES (1, 'a'), (2, 'b');`),
      );
      const env = { SOURCE_DATABASE_URL: src.url, TARGET_DATABASE_URL: tgt.url };
      const all = cfg.write(supabaseConfig(), 'superuser.yaml');
      const plan = runCli(['plan', '-c', all], env);
      expect(plan.status, plan.stdout + plan.stderr).toBe(1);
      expect(plan.stdout).toContain(
        'Error [NEEDS_SUPERUSER]: function legacy.my_abs(integer) is written in LANGUAGE internal',
      );
      expect(plan.stdout).toContain('Warning [EVENT_TRIGGER_NOT_MIGRATED]: event trigger "log_ddl" is not migrated');

      // leave the schema out: the rest migrates, the event trigger stays a warning
      const some = cfg.write(supabaseConfig('tables:\n  include: ["public.*"]\n'), 'superuser-public.yaml');
      const applied = runCli(['apply', '-c', some, '--auto-approve'], env);
      expect(applied.status, applied.stdout + applied.stderr).toBe(0);
      const rows = await withPg(tgt.adminUrl, (c) =>
        c.query<{ n: string; evt: string }>(
          `SELECT (SELECT count(*) FROM public.notes)::text AS n, (SELECT count(*) FROM pg_event_trigger WHERE evtname = 'log_ddl')::text AS evt`,
        ),
      );
      expect(rows.rows[0]).toEqual({ n: '2', evt: '0' });
    } finally {
      await tgt?.drop();
      await src.drop();
    }
  });
});
