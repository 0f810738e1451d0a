/**
 * src/embedded/supabase-like.ts (pgshift's own SQL, used by `pgshift demo`) makes a fresh embedded PostgreSQL 17
 * Supabase-like: a non-superuser postgres that owns the database, the Data API roles, extensions in schema
 * extensions, public granted to anon by default. pgshift migrates into it as postgres, and anon reads nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  prepareSupabaseLike,
  SUPABASE_LIKE_SUPERUSER,
  supabaseLikeDatabaseSql,
} from '../../src/embedded/supabase-like.js';
import { runCli } from '../e2e/cli.js';
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
import { EmbeddedPostgres, embeddedBinariesAvailable } from '../support/embedded.js';

const available = embeddedBinariesAvailable(17);
if (!available) console.warn('supabase-like-embedded: the embedded PostgreSQL 17 binaries are absent: skipped');
const PASSWORD = 'embedded-supabase-pw';

describe.runIf(available)('a Supabase-like embedded cluster (src/embedded/supabase-like.ts)', () => {
  const server = new EmbeddedPostgres({ major: 17, superuser: SUPABASE_LIKE_SUPERUSER });
  const cfg = configDir('supabase-like-embedded');
  beforeAll(async () => {
    await server.start();
    await withPg(server.url('postgres'), (c) => prepareSupabaseLike(c, { postgresPassword: PASSWORD }));
    // a second database the way the demo makes one: created by the superuser, then prepared
    await withPg(server.url('postgres'), (c) => c.query('CREATE DATABASE clinic'));
    await withPg(server.url('clinic'), (c) => c.query(supabaseLikeDatabaseSql('clinic')));
  });
  afterAll(async () => {
    cfg.remove();
    await server.dispose();
  });

  it('has a non-superuser postgres owning the database, the API roles, extensions in extensions, and is idempotent', async () => {
    await withPg(server.url('postgres'), (c) => prepareSupabaseLike(c, { postgresPassword: PASSWORD })); // again: no error
    const facts = await withPg(server.url('clinic', 'postgres', PASSWORD), async (c) => {
      const me = await c.query<{
        rolsuper: boolean;
        rolcreaterole: boolean;
        rolcreatedb: boolean;
        rolbypassrls: boolean;
        owner: string;
      }>(
        `SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, pg_get_userbyid(d.datdba)::text AS owner
           FROM pg_roles, pg_database d WHERE rolname = current_user AND d.datname = current_database()`,
      );
      const roles = await c.query<{ rolname: string }>(
        `SELECT rolname::text FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator') ORDER BY 1`,
      );
      const ext = await c.query<{ e: string }>(
        `SELECT e.extname || '@' || n.nspname AS e FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY 1`,
      );
      await c.query('CREATE TABLE public.probe (id int)');
      const granted = await c.query<{ anon: boolean }>(
        `SELECT has_table_privilege('anon', 'public.probe', 'SELECT') AS anon`,
      );
      await c.query('DROP TABLE public.probe');
      return {
        me: me.rows[0],
        roles: roles.rows.map((r) => r.rolname),
        ext: ext.rows.map((r) => r.e),
        anon: granted.rows[0]?.anon,
      };
    });
    expect(facts).toEqual({
      me: { rolsuper: false, rolcreaterole: true, rolcreatedb: true, rolbypassrls: true, owner: 'postgres' },
      roles: ['anon', 'authenticated', 'authenticator', 'service_role'],
      ext: ['pgcrypto@extensions', 'uuid-ossp@extensions'],
      anon: true, // default privileges, as on a hosted project: RLS is what must protect the rows
    });
  });

  it('pgshift migrates into it as postgres: extension references rewritten, RLS before data, anon reads nothing', async () => {
    const admin = testServers().source.adminUrl;
    const name = uniqueDatabaseName('sbl_src');
    await createDatabase(admin, name);
    try {
      const sourceUrl = withDatabase(admin, name);
      await withPg(sourceUrl, (c) =>
        c.query(`CREATE EXTENSION pgcrypto WITH SCHEMA public;
                 CREATE EXTENSION citext WITH SCHEMA public;
                 CREATE TABLE public.patients (id uuid PRIMARY KEY DEFAULT public.gen_random_uuid(), name text, email text);
                 INSERT INTO public.patients (name, email) SELECT 'p' || g, 'p' || g || '@example.org' FROM generate_series(1, 100) g;
                 -- keyed by an extension type: batches cast the key on the source, where citext is still in public
                 CREATE TABLE public.emails (email public.citext PRIMARY KEY, n int);
                 INSERT INTO public.emails SELECT 'User' || g || '@Example.org', g FROM generate_series(1, 95) g;
                 -- an operator of an extension in an index expression: printed OPERATOR(public.->)
                 CREATE EXTENSION hstore WITH SCHEMA public;
                 CREATE TABLE public.prefs (id int PRIMARY KEY, data public.hstore);
                 CREATE INDEX prefs_lang ON public.prefs ((data -> 'lang'));
                 INSERT INTO public.prefs SELECT g, public.hstore('lang', 'en') FROM generate_series(1, 5) g;`),
      );
      const file = cfg.write(`version: 1
name: embedded
source:
  url: \${SOURCE_DATABASE_URL}
target:
  url: \${TARGET_DATABASE_URL}
  provider: supabase
copy: { batch_size: 10 }
`);
      const env = { SOURCE_DATABASE_URL: sourceUrl, TARGET_DATABASE_URL: server.url('clinic', 'postgres', PASSWORD) };
      const applied = runCli(['apply', '-c', file, '--auto-approve'], env);
      expect(applied.status, applied.stdout + applied.stderr).toBe(0);
      expect(applied.stdout).toContain('Security: anon and authenticated read no row of the 3 migrated table(s)');
      const seen = await withPg(server.url('clinic'), async (c) => {
        await c.query("SET search_path = ''");
        const def = await c.query<{ d: string }>(
          `SELECT pg_get_expr(adbin, adrelid) AS d FROM pg_attrdef WHERE adrelid = 'public.patients'::regclass`,
        );
        await c.query('SET ROLE anon');
        const n = await c.query<{ n: string }>('SELECT count(*)::text AS n FROM public.patients');
        await c.query('RESET ROLE');
        const emails = await c.query<{ n: string; t: string }>(
          `SELECT count(*)::text AS n, min(pg_typeof(email)::text) AS t FROM public.emails`,
        );
        const idx = await c.query<{ d: string }>(`SELECT pg_get_indexdef('public.prefs_lang'::regclass) AS d`);
        return { def: def.rows[0]?.d, anon: n.rows[0]?.n, emails: emails.rows[0], idx: idx.rows[0]?.d };
      });
      expect(seen).toEqual({
        def: 'extensions.gen_random_uuid()',
        anon: '0',
        emails: { n: '95', t: 'extensions.citext' },
        idx: expect.stringContaining("(data OPERATOR(extensions.->) 'lang'::text)") as unknown as string,
      });
      const again = runCli(['plan', '-c', file, '--detailed-exitcode'], env);
      expect(again.status, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toContain('No changes.');
    } finally {
      await dropDatabase(admin, name);
    }
  });

  it('the check after apply names what anon can read: a policy open to PUBLIC fails apply (DATA_EXPOSED); rls: warn only reports', async () => {
    const admin = testServers().source.adminUrl;
    const name = uniqueDatabaseName('sbl_exposed');
    await createDatabase(admin, name);
    try {
      const sourceUrl = withDatabase(admin, name);
      await withPg(sourceUrl, (c) =>
        c.query(`CREATE TABLE public.notices (id int PRIMARY KEY, body text);
                 ALTER TABLE public.notices ENABLE ROW LEVEL SECURITY;
                 CREATE POLICY everyone ON public.notices FOR SELECT TO PUBLIC USING (true);
                 INSERT INTO public.notices VALUES (1, 'open hours');
                 CREATE TABLE public.contacts (id int PRIMARY KEY, email text);
                 INSERT INTO public.contacts VALUES (1, 'a@example.org');
                 CREATE VIEW public.contact_emails AS SELECT email FROM public.contacts;`),
      );
      const yaml = (db: string, rls: string): string => `version: 1
name: exposed
source:
  url: \${SOURCE_DATABASE_URL}
target:
  url: \${TARGET_DATABASE_URL}
  provider: supabase
tables:
  include: ["public.${db}"]
security: { rls: ${rls}${rls === 'enable' ? '' : ', acknowledge_rls_off: true'} }
`;
      for (const db of ['exposed_enable', 'exposed_warn']) {
        await withPg(server.url('postgres'), (c) => c.query(`CREATE DATABASE ${quoteIdent(db)}`));
        await withPg(server.url(db), (c) => c.query(supabaseLikeDatabaseSql(db)));
      }
      const open = cfg.write(yaml('notices', 'enable'), 'exposed-enable.yaml');
      const envOpen = {
        SOURCE_DATABASE_URL: sourceUrl,
        TARGET_DATABASE_URL: server.url('exposed_enable', 'postgres', PASSWORD),
      };
      const plan = runCli(['plan', '-c', open], envOpen);
      expect(plan.stdout).toContain(
        'Warning [POLICY_FOR_API_ROLES]: policy public.notices.everyone lets PUBLIC read rows of public.notices',
      );
      const applied = runCli(['apply', '-c', open, '--auto-approve'], envOpen);
      expect(applied.status, applied.stdout + applied.stderr).toBe(1);
      expect(applied.stdout).toContain(
        '[policy_exposes_rows] public.notices has row level security on, but a policy lets anon read rows',
      );
      expect(applied.stderr).toContain('Error [DATA_EXPOSED]');

      const warn = cfg.write(yaml('contacts', 'warn'), 'exposed-warn.yaml');
      const envWarn = {
        SOURCE_DATABASE_URL: sourceUrl,
        TARGET_DATABASE_URL: server.url('exposed_warn', 'postgres', PASSWORD),
      };
      // with rls: enable a view in an exposed schema is revoked from the API roles as it is created
      const contactsEnable = cfg.write(yaml('contacts', 'enable'), 'exposed-contacts.yaml');
      expect(runCli(['plan', '-c', contactsEnable], envWarn).stdout).toMatch(
        /\+ view public\.contact_emails\s+not on the target; revokes anon, authenticated: a view runs as its owner/,
      );
      const warned = runCli(['apply', '-c', warn, '--auto-approve'], envWarn);
      expect(warned.status, warned.stdout + warned.stderr).toBe(0);
      expect(warned.stdout).toContain(
        '[rls_disabled_in_public] public.contacts has row level security off and anon can read its rows',
      );
      expect(warned.stdout).toContain(
        '[sensitive_columns_exposed] public.contacts exposes column(s) named like personal data to anon: email',
      );
      const verified = runCli(['verify', '-c', warn, '--json'], envWarn);
      const report = JSON.parse(verified.stdout) as {
        security: { ok: boolean; findings: Array<{ lint: string; role: string }> };
      };
      expect(report.security.ok).toBe(false);
      expect(report.security.findings.map((f) => `${f.lint} ${f.role}`)).toEqual([
        'security_definer_view anon',
        'security_definer_view authenticated', // the view was not revoked (rls: warn)
        'rls_disabled_in_public anon',
        'sensitive_columns_exposed anon',
        'rls_disabled_in_public authenticated',
        'sensitive_columns_exposed authenticated',
      ]);
    } finally {
      await dropDatabase(admin, name);
    }
  });

  it('roles.owners: mapped gives the objects to the mapped role, which reads its rows while anon reads none', async () => {
    const admin = testServers().source.adminUrl;
    const name = uniqueDatabaseName('sbl_owner');
    const sourceOwner = `${name}_owner`;
    await createDatabase(admin, name);
    await withPg(server.url('postgres'), (c) => c.query('CREATE DATABASE owners'));
    await withPg(server.url('owners'), (c) => c.query(supabaseLikeDatabaseSql('owners')));
    try {
      const sourceUrl = withDatabase(admin, name);
      await withPg(sourceUrl, (c) =>
        c.query(`CREATE ROLE ${quoteIdent(sourceOwner)} NOLOGIN;
                 CREATE TABLE public.visits (id serial PRIMARY KEY, note text);
                 CREATE VIEW public.visit_notes AS SELECT note FROM public.visits;
                 ALTER TABLE public.visits OWNER TO ${quoteIdent(sourceOwner)};
                 ALTER VIEW public.visit_notes OWNER TO ${quoteIdent(sourceOwner)};
                 INSERT INTO public.visits (note) SELECT 'n' || g FROM generate_series(1, 20) g;`),
      );
      const file = cfg.write(
        `version: 1
name: owners
source:
  url: \${SOURCE_DATABASE_URL}
target:
  url: \${TARGET_DATABASE_URL}
  provider: supabase
roles:
  map: { ${sourceOwner}: app_owner }
  create: [app_owner]
  owners: mapped
`,
        'owners.yaml',
      );
      const env = { SOURCE_DATABASE_URL: sourceUrl, TARGET_DATABASE_URL: server.url('owners', 'postgres', PASSWORD) };
      const plan = runCli(['plan', '-c', file], env);
      expect(plan.stdout).toMatch(/\+ owner table public\.visits/);
      const applied = runCli(['apply', '-c', file, '--auto-approve'], env);
      expect(applied.status, applied.stdout + applied.stderr).toBe(0);
      const seen = await withPg(server.url('owners'), async (c) => {
        const owners = await c.query<{ relname: string; owner: string }>(
          `SELECT relname::text, pg_get_userbyid(relowner)::text AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1`,
        );
        const read = async (role: string): Promise<string | undefined> => {
          await c.query(`SET ROLE ${quoteIdent(role)}`);
          const r = await c.query<{ n: string }>('SELECT count(*)::text AS n FROM public.visits');
          await c.query('RESET ROLE');
          return r.rows[0]?.n;
        };
        return { owners: owners.rows, app: await read('app_owner'), anon: await read('anon') };
      });
      expect(seen).toEqual({
        owners: [
          { relname: 'visit_notes', owner: 'app_owner' },
          { relname: 'visits', owner: 'app_owner' },
          { relname: 'visits_id_seq', owner: 'app_owner' }, // follows its table
          { relname: 'visits_pkey', owner: 'app_owner' },
        ],
        app: '20', // the owner is not subject to its table's RLS: the backend keeps working
        anon: '0',
      });
      const again = runCli(['plan', '-c', file, '--detailed-exitcode'], env);
      expect(again.status, again.stdout + again.stderr).toBe(0);
    } finally {
      await dropDatabase(admin, name);
      await withPg(admin, (c) => c.query(`DROP ROLE IF EXISTS ${quoteIdent(sourceOwner)}`));
    }
  });
});
