import type pg from 'pg';

/**
 * Connections this role may still open on the server: max_connections less the reserved slots and the sessions
 * already open, and no more than the role's own CONNECTION LIMIT allows.
 */
export async function freeConnections(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ server_free: number; role_free: number | null }>(
    `SELECT current_setting('max_connections')::int
              - current_setting('superuser_reserved_connections')::int
              - coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0)
              - (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend')::int AS server_free,
            (SELECT CASE WHEN rolconnlimit < 0 THEN NULL
                         ELSE rolconnlimit - (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE usename = current_user)::int END
               FROM pg_catalog.pg_roles WHERE rolname = current_user) AS role_free`,
  );
  const row = r.rows[0];
  if (!row) return 0;
  return row.role_free === null ? row.server_free : Math.min(row.server_free, row.role_free);
}
