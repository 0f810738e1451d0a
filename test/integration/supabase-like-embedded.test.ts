/**
 * src/embedded/supabase-like.ts (pgshift's own SQL, used by `pgshift demo`) makes a fresh embedded PostgreSQL 17
 * Supabase-like: a non-superuser postgres that owns the database, the Data API roles, extensions in schema
 * extensions, public granted to anon by default. pgshift migrates into it as postgres, and anon reads nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareSupabaseLike, SUPABASE_LIKE_SUPERUSER, supabaseLikeDatabaseSql } from '../../src/embedded/supabase-like.js';
import { runCli } from '../e2e/cli.js';
import { configDir } from '../support/config.js';
import { createDatabase, dropDatabase, testServers, uniqueDatabaseName, withDatabase, withPg } from '../support/databases.js';
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
      const me = await c.query<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolbypassrls: boolean; owner: string }>(
        `SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, pg_get_userbyid(d.datdba)::text AS owner
           FROM pg_roles, pg_database d WHERE rolname = current_user AND d.datname = current_database()`,
      );
      const roles = await c.query<{ rolname: string }>(`SELECT rolname::text FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator') ORDER BY 1`);
      const ext = await c.query<{ e: string }>(`SELECT e.extname || '@' || n.nspname AS e FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY 1`);
      await c.query('CREATE TABLE public.probe (id int)');
      const granted = await c.query<{ anon: boolean }>(`SELECT has_table_privilege('anon', 'public.probe', 'SELECT') AS anon`);
      await c.query('DROP TABLE public.probe');
      return { me: me.rows[0], roles: roles.rows.map((r) => r.rolname), ext: ext.rows.map((r) => r.e), anon: granted.rows[0]?.anon };
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
        const def = await c.query<{ d: string }>(`SELECT pg_get_expr(adbin, adrelid) AS d FROM pg_attrdef WHERE adrelid = 'public.patients'::regclass`);
        await c.query('SET ROLE anon');
        const n = await c.query<{ n: string }>('SELECT count(*)::text AS n FROM public.patients');
        await c.query('RESET ROLE');
        const emails = await c.query<{ n: string; t: string }>(`SELECT count(*)::text AS n, min(pg_typeof(email)::text) AS t FROM public.emails`);
        const idx = await c.query<{ d: string }>(`SELECT pg_get_indexdef('public.prefs_lang'::regclass) AS d`);
        return { def: def.rows[0]?.d, anon: n.rows[0]?.n, emails: emails.rows[0], idx: idx.rows[0]?.d };
      });
      expect(seen).toEqual({ def: 'extensions.gen_random_uuid()', anon: '0', emails: { n: '95', t: 'extensions.citext' }, idx: expect.stringContaining("(data OPERATOR(extensions.->) 'lang'::text)") as unknown as string });
      const again = runCli(['plan', '-c', file, '--detailed-exitcode'], env);
      expect(again.status, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toContain('No changes.');
    } finally {
      await dropDatabase(admin, name);
    }
  });
});
