import type pg from 'pg';
import { freezeReadiness } from '../cutover/privileges.js';
import type { Config } from '../config/types.js';
import { connectClient, type SessionSettings } from '../db/connect.js';
import { resolveEndpoint, type ResolvedEndpoint } from '../db/endpoint.js';
import { probePooling } from '../db/pooler.js';
import {
  connectFailure,
  connectionsNeeded as needed,
  endpointFacts,
  gatherServerFacts,
  preflight,
  type PreflightItem,
  type SideFacts,
} from '../preflight/index.js';
import { streamChecks } from './stream-checks.js';
import { asError, type ErrorSummary } from './summary.js';

export type CheckStatus = 'ok' | 'warn' | 'block' | 'info';

export interface Check {
  readonly id: string;
  /** The preflight code (docs/preflight.md), for the rows preflight gives. */
  readonly code?: string;
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
  readonly tls?: {
    readonly mode: string;
    readonly inUse: boolean;
    readonly version?: string | null;
    readonly cipher?: string | null;
  };
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
  error?: unknown;
}

async function probe(ep: ResolvedEndpoint, session: SessionSettings): Promise<Probe> {
  const base = { side: ep.side, server: ep.display };
  const started = performance.now();
  let client: pg.Client;
  try {
    client = await connectClient(ep, session);
  } catch (err) {
    return { report: { ...base, reachable: false, error: asError(err) }, client: undefined, error: err };
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
  return needed(parallel);
}

const STATUS: Record<PreflightItem['level'], CheckStatus> = {
  ok: 'ok',
  info: 'info',
  warning: 'warn',
  blocker: 'block',
};

function asCheck(i: PreflightItem): Check {
  return {
    id: i.check,
    code: i.code,
    side: i.side,
    status: STATUS[i.level],
    message: i.message,
    ...(i.hint ? { hint: i.hint } : {}),
  };
}

/** Whether `pgshift cutover` could freeze writes on the source (privileges), long before the cutover day. */
async function freezeCheck(config: Config, source: pg.Client): Promise<Check> {
  try {
    const r = await freezeReadiness(config, source);
    if (r.problems.length === 0)
      return {
        id: 'cutover',
        code: 'CUTOVER_FREEZE_READY',
        side: 'source',
        status: 'ok',
        message: `the cutover can freeze writes on the ${r.tables} migrated table(s)`,
      };
    return {
      id: 'cutover',
      code: 'CUTOVER_FREEZE_PRIVILEGES',
      side: 'source',
      status: 'warn',
      message: `the cutover could not freeze writes on the source: ${r.problems.join('; ')}`,
      hint: "Connect to the source as the tables' owner (or GRANT TRIGGER on them and CREATE on the database) before the cutover: docs/cutover.md.",
    };
  } catch {
    return {
      id: 'cutover',
      code: 'CUTOVER_FREEZE_PRIVILEGES',
      side: 'source',
      status: 'info',
      message: "could not check the cutover's privileges on the source",
    };
  }
}

/** Preflight facts of one side, gathered on the doctor's open session. */
async function sideFacts(p: Probe, ep: ResolvedEndpoint): Promise<SideFacts> {
  const endpoint = endpointFacts(ep);
  if (!p.client) return { endpoint, connectFailure: connectFailure(p.error) };
  return { endpoint, server: await gatherServerFacts(p.client) };
}

/** The pooler probe (two short sessions) of a reachable side. */
async function withPooling(f: SideFacts, ep: ResolvedEndpoint, session: SessionSettings): Promise<SideFacts> {
  if (!f.server) return f;
  try {
    const probe = await probePooling(ep, session);
    return { ...f, pooling: { mode: probe.pooling, evidence: probe.evidence } };
  } catch {
    return f; // no two more sessions to spare (the connections row says so): no pooler row
  }
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
        checks.push({
          id: 'connect',
          side: r.side,
          status: 'block',
          message: `cannot connect: ${r.error?.message ?? 'unknown error'}`,
          ...(r.error?.hint ? { hint: r.error.hint } : {}),
        });
        continue;
      }
      checks.push({
        id: 'connect',
        side: r.side,
        status: 'ok',
        message: `connected in ${r.connectMs} ms to PostgreSQL ${r.version}`,
      });
    }
    const s = src.report;
    const t = tgt.report;
    if (s.reachable && t.reachable) {
      if (major(t.versionNum) < major(s.versionNum)) {
        checks.push({
          id: 'version',
          side: 'both',
          status: 'block',
          message: `target PostgreSQL ${major(t.versionNum)} is older than source ${major(s.versionNum)}`,
          hint: 'Migrate to a target of the same or a newer major version.',
        });
      } else {
        checks.push({
          id: 'version',
          side: 'both',
          status: 'ok',
          message: `source ${major(s.versionNum)} -> target ${major(t.versionNum)}`,
        });
      }
      checks.push({
        id: 'role',
        side: 'target',
        status: t.canCreateSchema ? 'ok' : 'block',
        message: `role ${t.role}${t.superuser ? ' (superuser)' : ' (not superuser)'} ${t.canCreateSchema ? 'may' : 'may NOT'} create schemas in the target database`,
        ...(t.canCreateSchema
          ? {}
          : {
              hint: `GRANT CREATE ON DATABASE <db> TO ${t.role}; (pgshift keeps its state in schema pgshift on the target)`,
            }),
      });
      checks.push({
        id: 'role',
        side: 'source',
        status: 'info',
        message: `role ${s.role}${s.superuser ? ' (superuser)' : ' (not superuser)'}`,
      });
      checks.push({
        id: 'wal_level',
        side: 'source',
        status: 'info',
        message: `wal_level = ${s.walLevel}`,
      });
    }
    // counts first (the pooler probe's sessions must not be counted as in use), then the probe
    const [sf0, tf0] = await Promise.all([sideFacts(src, eps.source), sideFacts(tgt, eps.target)]);
    const [sf, tf] = await Promise.all([withPooling(sf0, eps.source, session), withPooling(tf0, eps.target, session)]);
    checks.push(...preflight({ source: sf, target: tf, copyParallel: config.copy.parallel }, 'doctor').map(asCheck));
    if (src.client) checks.push(await freezeCheck(config, src.client));
    if (src.client)
      checks.push(
        ...(await streamChecks(config, src.client, tgt.client).catch(() => [
          {
            id: 'stream',
            code: 'STREAM_UNKNOWN',
            side: 'source' as const,
            status: 'info' as const,
            message: "could not check the source's replication settings",
          },
        ])),
      );
  } finally {
    await Promise.all([src.client?.end().catch(() => undefined), tgt.client?.end().catch(() => undefined)]);
  }
  return { source: src.report, target: tgt.report, checks, ok: !checks.some((c) => c.status === 'block') };
}
