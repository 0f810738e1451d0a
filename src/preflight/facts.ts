/**
 * What preflight knows about the two sides, gathered once (./gather.ts) and judged by pure functions
 * (./checks/*.ts). Facts hold no secret: host names, ports, roles, settings and extension names only.
 */
import type { Provider, Side, SslMode } from '../db/endpoint-config.js';
import type { ConnectFailure } from '../db/network-failure.js';
import type { Pooling } from '../db/pooler.js';

/** The connection as configured (from the resolved endpoint, without user or password). */
export interface EndpointFacts {
  readonly side: Side;
  readonly provider: Provider;
  readonly host: string;
  readonly port: number;
  readonly sslMode: SslMode;
  readonly caFile: boolean;
  readonly loopback: boolean;
}

export interface InstalledExtension {
  readonly name: string;
  readonly version: string;
  readonly schema: string;
}

/** A row of pg_available_extensions with what its default version's control file says. */
export interface AvailableExtension {
  readonly name: string;
  readonly defaultVersion: string | null;
  readonly installedVersion: string | null;
  /** Only a superuser may create it ... */
  readonly superuser: boolean;
  /** ... unless it is trusted (PostgreSQL 13+): then CREATE on the database is enough. */
  readonly trusted: boolean;
}

export interface ConnectionFacts {
  readonly maxConnections: number;
  /** superuser_reserved_connections + reserved_connections (16+). */
  readonly reserved: number;
  /** Client backends open right now (all roles). */
  readonly inUse: number;
  /** The role's CONNECTION LIMIT, null when it has none. */
  readonly roleLimit: number | null;
  readonly roleInUse: number;
}

export interface StatementTimeoutFacts {
  /** What a new session of this role in this database starts with (server, database and role defaults), e.g. 2min. */
  readonly serverDefault: string;
  /** What pgshift's own session has after its SET statement_timeout = 0. */
  readonly session: string;
}

export interface ServerFacts {
  readonly versionNum: number;
  readonly role: string;
  readonly superuser: boolean;
  readonly tlsInUse: boolean;
  /** Extensions created in the database (plpgsql left out). */
  readonly installedExtensions: readonly InstalledExtension[];
  /** Every extension the server could create. */
  readonly availableExtensions: readonly AvailableExtension[];
  /** supautils.privileged_extensions (Supabase): extensions a non-superuser may create all the same; null elsewhere. */
  readonly privilegedExtensions: readonly string[] | null;
  readonly connections: ConnectionFacts;
  readonly statementTimeout: StatementTimeoutFacts;
}

export interface SideFacts {
  readonly endpoint: EndpointFacts;
  /** Set when the side answered. */
  readonly server?: ServerFacts;
  /** Set when the connection failed. */
  readonly connectFailure?: ConnectFailure;
  /** Set when the pooler probe ran (doctor); plan, apply and verify refuse a transaction pooler before preflight. */
  readonly pooling?: { readonly mode: Pooling; readonly evidence: string };
}

export interface PreflightFacts {
  readonly source: SideFacts;
  readonly target: SideFacts;
  /** copy.parallel of the config. */
  readonly copyParallel: number;
}

/**
 * doctor judges the servers as they are now (live connection counts); plan judges what does not move between
 * plan and apply (capacities and settings), so a saved plan stays byte-identical while nothing changed.
 */
export type PreflightMode = 'doctor' | 'plan';

export type PreflightLevel = 'ok' | 'info' | 'warning' | 'blocker';

/** One preflight result: a row in doctor, and a plan finding when it is a warning or a blocker. */
export interface PreflightItem {
  /** Stable code (docs/preflight.md). */
  readonly code: string;
  /** The doctor row it belongs to. */
  readonly check: 'tls' | 'network' | 'pooler' | 'extensions' | 'connections' | 'statement_timeout';
  readonly side: Side | 'both';
  readonly level: PreflightLevel;
  readonly message: string;
  readonly hint?: string;
  /** The object concerned, e.g. `extension adminpack`. */
  readonly address?: string;
}
