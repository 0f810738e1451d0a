/**
 * Makes a fresh embedded PostgreSQL cluster Supabase-like enough for `pgshift demo` (and tests), with pgshift's own
 * minimal SQL: the Data API roles (anon, authenticated, service_role, authenticator), a NON-superuser `postgres`
 * (CREATEDB CREATEROLE BYPASSRLS) that owns the database, extensions in schema `extensions` (uuid-ossp, pgcrypto),
 * and default privileges that grant what `postgres` creates in public to anon and authenticated, as a hosted
 * project does. It is not Supabase: no supautils (reserved roles are not enforced), no auth or storage services.
 *
 *   const pg = new EmbeddedPostgres({ major: 17, superuser: SUPABASE_LIKE_SUPERUSER });
 *   await pg.start();
 *   await withClient(pg.url('postgres'), (c) => prepareSupabaseLike(c, { postgresPassword }));
 *   // or, statement text for a runner of its own: supabaseLikeRolesSql(password) once, then
 *   // supabaseLikeDatabaseSql(name) in each database
 *   // migrate into pg.url('postgres', 'postgres', postgresPassword)
 *
 * Run it as the cluster's bootstrap superuser (which must not be called `postgres`), connected to the database to
 * prepare; it is idempotent.
 */
import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../db/ident.js';
import { PgshiftError } from '../errors/index.js';

/** The bootstrap superuser a Supabase-like cluster is initialised with (initdb -U). */
export const SUPABASE_LIKE_SUPERUSER = 'supabase_admin';

/** The Data API roles, and the role PostgREST logs in as. */
const API_ROLES = ['anon', 'authenticated', 'service_role'] as const;

export interface SupabaseLikeOptions {
  /** Password of the `postgres` role (the one pgshift migrates as). Goes into SQL text: never logged. */
  readonly postgresPassword: string;
}

/**
 * Cluster-wide part, run once on a FRESH cluster as its bootstrap superuser: the Data API roles, authenticator, and
 * the non-superuser `postgres` with its password (a secret in SQL text: never log this string).
 */
export function supabaseLikeRolesSql(postgresPassword: string): string {
  const postgres = quoteIdent('postgres');
  const api = API_ROLES.map(quoteIdent).join(', ');
  return (
    [
      ...API_ROLES.map((r) => `CREATE ROLE ${quoteIdent(r)} NOLOGIN`),
      `ALTER ROLE ${quoteIdent('service_role')} BYPASSRLS`,
      `CREATE ROLE ${quoteIdent('authenticator')} LOGIN NOINHERIT`,
      `GRANT ${api} TO ${quoteIdent('authenticator')}`,
      `CREATE ROLE ${postgres} NOSUPERUSER CREATEDB CREATEROLE LOGIN REPLICATION BYPASSRLS PASSWORD ${quoteLiteral(postgresPassword)}`,
      `GRANT ${api} TO ${postgres}`,
      // hosted projects let postgres set it (supautils); PostgreSQL 15+ can grant it
      `GRANT SET ON PARAMETER session_replication_role TO ${postgres}`,
      `ALTER ROLE ${postgres} SET search_path = "$user", public, extensions`,
    ].join(';\n') + ';'
  );
}

/**
 * Per-database part, run as the bootstrap superuser in the database to prepare (`database` is its name):
 * `postgres` owns it (and so schema public), extensions live in schema `extensions`, and what `postgres` creates in
 * public is granted to the API roles by default, as on a hosted project (RLS is what protects the rows).
 */
export function supabaseLikeDatabaseSql(database: string): string {
  const postgres = quoteIdent('postgres');
  const api = API_ROLES.map(quoteIdent).join(', ');
  const ext = quoteIdent('extensions');
  const pub = quoteIdent('public');
  return (
    [
      `ALTER DATABASE ${quoteIdent(database)} OWNER TO ${postgres}`,
      `CREATE SCHEMA IF NOT EXISTS ${ext}`,
      `GRANT USAGE ON SCHEMA ${ext} TO ${postgres}, ${api}`,
      `GRANT ALL ON SCHEMA ${ext} TO ${postgres}`,
      `CREATE EXTENSION IF NOT EXISTS ${quoteIdent('uuid-ossp')} WITH SCHEMA ${ext}`,
      `CREATE EXTENSION IF NOT EXISTS ${quoteIdent('pgcrypto')} WITH SCHEMA ${ext}`,
      `GRANT USAGE ON SCHEMA ${pub} TO ${api}`,
      ...['TABLES', 'SEQUENCES', 'FUNCTIONS'].map(
        (what) => `ALTER DEFAULT PRIVILEGES FOR ROLE ${postgres} IN SCHEMA ${pub} GRANT ALL ON ${what} TO ${api}`,
      ),
    ].join(';\n') + ';'
  );
}

/**
 * Both parts through one client connected as the bootstrap superuser to the database to prepare: the roles when
 * the cluster has no `postgres` role yet, then the database. One transaction.
 */
export async function prepareSupabaseLike(client: pg.ClientBase, opts: SupabaseLikeOptions): Promise<void> {
  const me = await client.query<{ user: string; superuser: boolean; db: string; has_postgres: boolean }>(
    `SELECT current_user::text AS user, r.rolsuper AS superuser, current_database()::text AS db,
            EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'postgres') AS has_postgres
       FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
  );
  const who = me.rows[0];
  if (!who?.superuser || who.user === 'postgres') {
    throw new PgshiftError(
      'USAGE',
      `prepareSupabaseLike needs the cluster's bootstrap superuser (not "postgres"); connected as "${who?.user ?? '?'}"`,
      {
        hint: `Initialise the cluster with superuser ${SUPABASE_LIKE_SUPERUSER} (EmbeddedPostgres { superuser: '${SUPABASE_LIKE_SUPERUSER}' }).`,
      },
    );
  }
  await client.query('BEGIN');
  try {
    if (!who.has_postgres) await client.query(supabaseLikeRolesSql(opts.postgresPassword));
    await client.query(supabaseLikeDatabaseSql(who.db));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
