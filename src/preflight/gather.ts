/**
 * Gathers the facts preflight judges, once per command, on sessions that are already open. Read-only; the only
 * place of src/preflight that talks to a server.
 */
import type pg from 'pg';
import type { ResolvedEndpoint } from '../db/endpoint.js';
import type { AvailableExtension, EndpointFacts, InstalledExtension, ServerFacts } from './facts.js';

export function endpointFacts(ep: ResolvedEndpoint): EndpointFacts {
  return {
    side: ep.side,
    provider: ep.provider,
    host: ep.host,
    port: ep.port,
    sslMode: ep.sslMode,
    caFile: ep.caFile !== undefined,
    loopback: ep.loopback,
  };
}

/** A duration in milliseconds as PostgreSQL prints it (0, 500ms, 30s, 2min, 1h). */
export function formatMs(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}min`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export async function gatherServerFacts(client: pg.ClientBase): Promise<ServerFacts> {
  const r = await client.query<{
    num: number;
    role: string;
    superuser: boolean;
    ssl: boolean;
    max_connections: number;
    reserved: number;
    in_use: number;
    role_limit: number;
    role_in_use: number;
    st_default_ms: string;
    st_session: string;
    privileged: string | null;
  }>(
    `SELECT current_setting('server_version_num')::int AS num,
            current_user AS role,
            (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS superuser,
            coalesce((SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS ssl,
            current_setting('max_connections')::int AS max_connections,
            current_setting('superuser_reserved_connections')::int
              + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS reserved,
            (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend')::int AS in_use,
            (SELECT rolconnlimit FROM pg_catalog.pg_roles WHERE rolname = current_user) AS role_limit,
            (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE usename = current_user)::int AS role_in_use,
            (SELECT reset_val FROM pg_catalog.pg_settings WHERE name = 'statement_timeout') AS st_default_ms,
            current_setting('statement_timeout') AS st_session,
            current_setting('supautils.privileged_extensions', true) AS privileged`,
  );
  const row = r.rows[0];
  if (!row) throw new Error('preflight: the server returned no row');
  const installed = await client.query<InstalledExtension>(
    `SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
       FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname <> 'plpgsql' ORDER BY 1`,
  );
  // `trusted` exists from PostgreSQL 13 on; before that only superusers create untrusted-by-default extensions
  const trusted = row.num >= 130000 ? 'v.trusted' : 'false';
  const available = await client.query<{
    name: string;
    default_version: string | null;
    installed_version: string | null;
    superuser: boolean;
    trusted: boolean;
  }>(
    `SELECT a.name, a.default_version, a.installed_version,
            coalesce(v.superuser, true) AS superuser, coalesce(${trusted}, false) AS trusted
       FROM pg_catalog.pg_available_extensions a
       LEFT JOIN pg_catalog.pg_available_extension_versions v ON v.name = a.name AND v.version = a.default_version
      ORDER BY 1`,
  );
  const privileged = row.privileged?.trim()
    ? row.privileged
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : null;
  return {
    versionNum: row.num,
    role: row.role,
    superuser: row.superuser,
    tlsInUse: row.ssl,
    installedExtensions: installed.rows,
    availableExtensions: available.rows.map((a): AvailableExtension => ({
      name: a.name,
      defaultVersion: a.default_version,
      installedVersion: a.installed_version,
      superuser: a.superuser,
      trusted: a.trusted,
    })),
    privilegedExtensions: privileged,
    connections: {
      maxConnections: row.max_connections,
      reserved: row.reserved,
      inUse: row.in_use,
      roleLimit: row.role_limit >= 0 ? row.role_limit : null,
      roleInUse: row.role_in_use,
    },
    statementTimeout: { serverDefault: formatMs(Number(row.st_default_ms)), session: row.st_session },
  };
}
