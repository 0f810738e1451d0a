import type pg from 'pg';
import type { Config } from '../config/types.js';
import { connectClient, type SessionSettings } from '../db/connect.js';
import { resolveEndpoint, type ResolvedEndpoint } from '../db/endpoint.js';
import { asError, type ErrorSummary } from './summary.js';

export type CheckStatus = 'ok' | 'warn' | 'block' | 'info';

export interface Check {
  readonly id: string;
  readonly side: 'source' | 'target' | 'both';
  readonly status: CheckStatus;
  readonly message: string;
  readonly hint?: string;
}

export interface ExtensionInfo {
  readonly name: string;
  readonly version: string;
  readonly schema: string;
}

export interface SideReport {
  readonly side: 'source' | 'target';
  readonly server: string;
  readonly reachable: boolean;
  readonly error?: ErrorSummary;
  readonly version?: string;
  readonly versionNum?: number;
  readonly tls?: { readonly mode: string; readonly inUse: boolean; readonly version?: string | null; readonly cipher?: string | null };
  readonly connectMs?: number;
  readonly role?: string;
  readonly superuser?: boolean;
  readonly canCreateSchema?: boolean;
  readonly walLevel?: string;
  readonly extensions?: readonly ExtensionInfo[];
  readonly maxConnections?: number;
  readonly connectionsInUse?: number;
  readonly reservedConnections?: number;
  /** The role's CONNECTION LIMIT, when it has one. */
  readonly roleConnectionLimit?: number;
  readonly roleConnectionsInUse?: number;
}

export interface DoctorReport {
  readonly source: SideReport;
  readonly target: SideReport;
  readonly checks: readonly Check[];
  /** False when a check blocks the migration. */
  readonly ok: boolean;
}

interface Probe {
  report: SideReport;
  client: pg.Client | undefined;
}

async function probe(ep: ResolvedEndpoint, session: SessionSettings): Promise<Probe> {
  const base = { side: ep.side, server: ep.display };
  const started = performance.now();
  let client: pg.Client;
  try {
    client = await connectClient(ep, session);
  } catch (err) {
    return { report: { ...base, reachable: false, error: asError(err) }, client: undefined };
  }
  const connectMs = Math.round(performance.now() - started);
  const r = await client.query<{
    version: string;
    num: number;
    role: string;
    superuser: boolean;
    ssl: boolean | null;
    tls_version: string | null;
    cipher: string | null;
    can_create: boolean;
    wal_level: string;
    max_connections: number;
    in_use: number;
    reserved: number;
    role_limit: number;
    role_in_use: number;
  }>(
    `SELECT current_setting('server_version') AS version,
            current_setting('server_version_num')::int AS num,
            current_user AS role,
            (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS superuser,
            s.ssl, s.version AS tls_version, s.cipher,
            has_database_privilege(current_database(), 'CREATE') AS can_create,
            current_setting('wal_level') AS wal_level,
            current_setting('max_connections')::int AS max_connections,
            (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend')::int AS in_use,
            current_setting('superuser_reserved_connections')::int
              + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS reserved,
            (SELECT rolconnlimit FROM pg_catalog.pg_roles WHERE rolname = current_user) AS role_limit,
            (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE usename = current_user)::int AS role_in_use
       FROM pg_catalog.pg_stat_ssl s WHERE s.pid = pg_backend_pid()`,
  );
  const row = r.rows[0];
  if (!row) throw new Error('pg_stat_ssl has no row for this session');
  const ext = await client.query<ExtensionInfo>(
    `SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
       FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname <> 'plpgsql' ORDER BY 1`,
  );
  return {
    client,
    report: {
      ...base,
      reachable: true,
      version: row.version,
      versionNum: row.num,
      tls: { mode: ep.sslMode, inUse: row.ssl === true, version: row.tls_version, cipher: row.cipher },
      connectMs,
      role: row.role,
      superuser: row.superuser,
      canCreateSchema: row.can_create,
      walLevel: row.wal_level,
      extensions: ext.rows,
      maxConnections: row.max_connections,
      connectionsInUse: row.in_use,
      reservedConnections: row.reserved,
      ...(row.role_limit >= 0 ? { roleConnectionLimit: row.role_limit, roleConnectionsInUse: row.role_in_use } : {}),
    },
  };
}

function major(num: number | undefined): number {
  return num === undefined ? 0 : Math.floor(num / 10000);
}

/** Connections one apply needs on the target: a copy worker each, plus state and control sessions. */
export function connectionsNeeded(parallel: number): number {
  return parallel + 2;
}

/** Preflight of both sides. Never throws for a server problem: it reports it as a blocking check. */
export async function runDoctor(config: Config): Promise<DoctorReport> {
  const session: SessionSettings = {
    connectTimeoutMs: config.connection.connectTimeoutMs,
    lockTimeoutMs: config.connection.lockTimeoutMs,
    retry: config.connection.retry,
  };
  const checks: Check[] = [];
  const eps = { source: resolveEndpoint(config.source), target: resolveEndpoint(config.target) };
  const [src, tgt] = await Promise.all([probe(eps.source, session), probe(eps.target, session)]);
  try {
    for (const p of [src, tgt]) {
      const r = p.report;
      if (!r.reachable) {
        checks.push({ id: 'connect', side: r.side, status: 'block', message: `cannot connect: ${r.error?.message ?? 'unknown error'}`, ...(r.error?.hint ? { hint: r.error.hint } : {}) });
        continue;
      }
      checks.push({ id: 'connect', side: r.side, status: 'ok', message: `connected in ${r.connectMs} ms to PostgreSQL ${r.version}` });
      const ep = eps[r.side];
      if (r.tls?.inUse) {
        const verified = ep.sslMode === 'verify-full' || ep.sslMode === 'verify-ca';
        checks.push({
          id: 'tls',
          side: r.side,
          status: verified ? 'ok' : ep.loopback ? 'info' : 'warn',
          message: `TLS ${r.tls.version ?? ''} (${ep.sslMode})${verified ? '' : ': the server certificate is not verified'}`,
          ...(verified ? {} : { hint: `Set ${r.side}.ssl.mode: verify-full with ca_file to rule out a man in the middle.` }),
        });
      } else {
        checks.push({
          id: 'tls',
          side: r.side,
          status: ep.loopback ? 'info' : 'warn',
          message: ep.loopback ? 'no TLS (loopback connection)' : 'no TLS: data crosses the network in clear text',
          ...(ep.loopback ? {} : { hint: `Set ${r.side}.ssl.mode: verify-full with ca_file.` }),
        });
      }
    }
    const s = src.report;
    const t = tgt.report;
    if (s.reachable && t.reachable) {
      if (major(t.versionNum) < major(s.versionNum)) {
        checks.push({ id: 'version', side: 'both', status: 'block', message: `target PostgreSQL ${major(t.versionNum)} is older than source ${major(s.versionNum)}`, hint: 'Migrate to a target of the same or a newer major version.' });
      } else {
        checks.push({ id: 'version', side: 'both', status: 'ok', message: `source ${major(s.versionNum)} -> target ${major(t.versionNum)}` });
      }
      checks.push({
        id: 'role',
        side: 'target',
        status: t.canCreateSchema ? 'ok' : 'block',
        message: `role ${t.role}${t.superuser ? ' (superuser)' : ' (not superuser)'} ${t.canCreateSchema ? 'may' : 'may NOT'} create schemas in the target database`,
        ...(t.canCreateSchema ? {} : { hint: `GRANT CREATE ON DATABASE <db> TO ${t.role}; (pgshift keeps its state in schema pgshift on the target)` }),
      });
      checks.push({ id: 'role', side: 'source', status: 'info', message: `role ${s.role}${s.superuser ? ' (superuser)' : ' (not superuser)'}` });
      checks.push({
        id: 'wal_level',
        side: 'source',
        status: 'info',
        message: `wal_level = ${s.walLevel}`,
      });
      checks.push(...(await extensionChecks(s.extensions ?? [], tgt.client as pg.Client)));
      const needed = connectionsNeeded(config.copy.parallel);
      const serverFree = (t.maxConnections ?? 0) - (t.reservedConnections ?? 0) - (t.connectionsInUse ?? 0);
      const roleFree = t.roleConnectionLimit === undefined ? Infinity : t.roleConnectionLimit - (t.roleConnectionsInUse ?? 0);
      const free = Math.min(serverFree, roleFree);
      checks.push({
        id: 'connections',
        side: 'target',
        status: free < needed ? 'block' : free < needed * 2 ? 'warn' : 'ok',
        message:
          roleFree < serverFree
            ? `${free} connections free under role ${t.role}'s CONNECTION LIMIT ${t.roleConnectionLimit}; copy.parallel=${config.copy.parallel} needs ${needed}`
            : `${free} of ${t.maxConnections} connections free; copy.parallel=${config.copy.parallel} needs ${needed}`,
        ...(free < needed * 2 ? { hint: 'Lower copy.parallel, or free connections on the target (the application keeps needing its own).' } : {}),
      });
    }
  } finally {
    await Promise.all([src.client?.end().catch(() => undefined), tgt.client?.end().catch(() => undefined)]);
  }
  return { source: src.report, target: tgt.report, checks, ok: !checks.some((c) => c.status === 'block') };
}

async function extensionChecks(sourceExt: readonly ExtensionInfo[], target: pg.Client): Promise<Check[]> {
  if (sourceExt.length === 0) return [{ id: 'extensions', side: 'both', status: 'ok', message: 'the source uses no extensions' }];
  const r = await target.query<{ name: string; installed_version: string | null }>(
    `SELECT name, installed_version FROM pg_catalog.pg_available_extensions WHERE name = ANY($1::text[])`,
    [sourceExt.map((e) => e.name)],
  );
  const available = new Map(r.rows.map((row) => [row.name, row.installed_version]));
  return sourceExt.map((e): Check => {
    if (!available.has(e.name)) {
      return { id: 'extensions', side: 'target', status: 'block', message: `extension ${e.name} (used by the source) is not available on the target`, hint: `Install ${e.name} on the target server, or exclude the objects that need it.` };
    }
    const installed = available.get(e.name);
    return { id: 'extensions', side: 'target', status: 'ok', message: `extension ${e.name} ${installed ? `installed (${installed})` : 'available'}` };
  });
}
