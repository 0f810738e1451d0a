/**
 * A Supabase-like target for tests: a PostgreSQL 17 cluster of its own whose bootstrap superuser is
 * `supabase_admin`, prepared with ../shared/fixtures/supabase-like/bootstrap.sql (roles anon, authenticated,
 * service_role..., schema extensions with uuid-ossp and pgcrypto, the managed schemas, default privileges that grant
 * new tables in public to anon and authenticated) and migrated into as the NON-superuser `postgres`
 * (NOSUPERUSER CREATEDB CREATEROLE BYPASSRLS), as on a hosted project.
 *
 * Started lazily, once per test file that asks for it (not in the global setup), and stopped with stopSupabaseLike().
 * The bootstrap runs once in the cluster's `postgres` database, which then serves as the template of every
 * database handed out by freshSupabaseDatabase() (schemas, extensions and default privileges are per database;
 * roles are per cluster).
 */
import fs from 'node:fs';
import path from 'node:path';

import { EmbeddedPostgres, embeddedBinariesAvailable } from './embedded.js';
import { fixturesDir } from './fixtures.js';
import { loadSqlFile } from './load-sql.js';
import { quoteIdent, quoteLiteral, withDatabase, withPg } from './sql.js';
import { dropDatabase, uniqueDatabaseName } from './databases.js';

/** The password the tests give `postgres` on the Supabase-like target. */
export const SUPABASE_POSTGRES_PASSWORD = 'supabase-like-pw';
const TEMPLATE = 'supabase_template';

/** The bootstrap script, or null when the shared fixtures are absent. */
export function supabaseBootstrapFile(): string | null {
  const dir = fixturesDir();
  if (!dir) return null;
  const file = path.join(dir, 'supabase-like', 'bootstrap.sql');
  return fs.existsSync(file) ? file : null;
}

/** Why Supabase-like tests cannot run here (null when they can); tests print it and skip. */
export function supabaseLikeUnavailable(): string | null {
  if (!supabaseBootstrapFile()) {
    return 'the Supabase-like fixture (supabase-like/bootstrap.sql in ../shared/fixtures or PGSHIFT_FIXTURES_DIR) is absent';
  }
  if (!embeddedBinariesAvailable(17)) return 'the embedded PostgreSQL 17 binaries (pg17-bin) are not installed';
  return null;
}

export interface SupabaseLikeServer {
  readonly server: EmbeddedPostgres;
  /** supabase_admin (superuser) URL of a database on the cluster */
  adminUrl(database?: string): string;
  /** the non-superuser `postgres` URL of a database on the cluster: what pgshift migrates into */
  postgresUrl(database?: string): string;
}

let starting: Promise<SupabaseLikeServer> | undefined;

async function start(): Promise<SupabaseLikeServer> {
  const file = supabaseBootstrapFile();
  if (!file) throw new Error(supabaseLikeUnavailable() ?? 'no Supabase-like fixture');
  const server = new EmbeddedPostgres({ major: 17, superuser: 'supabase_admin' });
  await server.start();
  const adminUrl = (db = 'postgres'): string => server.url(db);
  const postgresUrl = (db = 'postgres'): string => server.url(db, 'postgres', SUPABASE_POSTGRES_PASSWORD);
  await loadSqlFile(adminUrl('postgres'), file);
  await withPg(adminUrl('postgres'), async (c) => {
    await c.query(`ALTER ROLE postgres PASSWORD ${quoteLiteral(SUPABASE_POSTGRES_PASSWORD)}`);
  });
  // from here on `postgres` (the database) is only a template: nobody may stay connected to it
  await withPg(adminUrl('template1'), (c) =>
    c.query(`CREATE DATABASE ${quoteIdent(TEMPLATE)} TEMPLATE postgres IS_TEMPLATE true`),
  );
  return { server, adminUrl, postgresUrl };
}

/** The Supabase-like cluster of this test file (started on first use). */
export function supabaseLike(): Promise<SupabaseLikeServer> {
  starting ??= start();
  return starting;
}

export async function stopSupabaseLike(): Promise<void> {
  const s = starting;
  starting = undefined;
  if (s) await (await s.catch(() => undefined))?.server.dispose();
}

export interface SupabaseDatabase {
  readonly name: string;
  /** as `postgres` (non-superuser): the migration's target URL */
  readonly url: string;
  /** as supabase_admin, for checks the test makes behind pgshift's back */
  readonly adminUrl: string;
  drop(): Promise<void>;
}

/** A new database on the Supabase-like cluster, bootstrapped like a fresh project's `postgres` database. */
export async function freshSupabaseDatabase(label: string): Promise<SupabaseDatabase> {
  const s = await supabaseLike();
  const name = uniqueDatabaseName(label);
  await withPg(s.adminUrl('template1'), (c) =>
    c.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(TEMPLATE)} OWNER postgres`),
  );
  return {
    name,
    url: s.postgresUrl(name),
    adminUrl: withDatabase(s.adminUrl(), name),
    drop: () => dropDatabase(s.adminUrl('template1'), name),
  };
}
