import { existsSync } from 'node:fs';
import { resolveEndpoint, type ResolvedEndpoint } from '../db/endpoint.js';
import { isPgshiftError } from '../errors/index.js';
import { formatDuration } from './duration.js';
import { isManagedSchema, isReservedRole } from './supabase.js';
import type { ConfigProblem, PathSegment, Positions } from './problems.js';
import type { Config, EndpointConfig } from './types.js';

const DURATION_BOUNDS: ReadonlyArray<{ path: string[]; get: (c: Config) => number; min: number; max: number }> = [
  { path: ['cutover', 'max_write_freeze'], get: (c) => c.cutover.maxWriteFreezeMs, min: 1000, max: 3_600_000 },
  { path: ['cutover', 'rollback_window'], get: (c) => c.cutover.rollbackWindowMs, min: 60_000, max: 30 * 86_400_000 },
  { path: ['connection', 'connect_timeout'], get: (c) => c.connection.connectTimeoutMs, min: 100, max: 600_000 },
  { path: ['connection', 'lock_timeout'], get: (c) => c.connection.lockTimeoutMs, min: 100, max: 3_600_000 },
  { path: ['connection', 'retry', 'max_wait'], get: (c) => c.connection.retry.maxWaitMs, min: 10, max: 600_000 },
];

/** The schema on the target that holds pgshift's state; destroy drops it (CASCADE) last. */
const STATE_SCHEMA = 'pgshift';

/**
 * Why a schema can be neither the source nor the target of schemas.map: pgshift's state schema, or a schema of
 * PostgreSQL itself (pg_catalog, information_schema, and every pg_* name, which PostgreSQL reserves). Undefined for
 * a schema of the user's.
 */
function reservedSchema(name: string): string | undefined {
  if (name === STATE_SCHEMA) return "is pgshift's own state schema";
  if (name === 'information_schema' || name.startsWith('pg_')) return 'is a system schema of PostgreSQL';
  return undefined;
}

function sameServerHost(a: ResolvedEndpoint, b: ResolvedEndpoint): boolean {
  if (a.loopback && b.loopback) return true;
  return a.host.toLowerCase() === b.host.toLowerCase();
}

/**
 * Checks of meaning that a JSON Schema cannot express. Runs on a schema-valid config; when the file has other
 * problems, on the config without the faulty settings, and `blocked` names those: a check that reads one is skipped
 * (its answer would be about a default or a stand-in, not about the file).
 */
export function checkMeaning(
  config: Config,
  positions: Positions,
  blocked: (path: readonly PathSegment[]) => boolean = () => false,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const resolved: Partial<Record<'source' | 'target', ResolvedEndpoint>> = {};
  const off = (...paths: PathSegment[][]): boolean => paths.some((p) => blocked(p));

  for (const ep of [config.source, config.target] as EndpointConfig[]) {
    try {
      if (!off([ep.side, 'url'], [ep.side, 'ssl', 'mode'], [ep.side, 'provider']))
        resolved[ep.side] = resolveEndpoint(ep);
    } catch (err) {
      if (!isPgshiftError(err)) throw err;
      const at =
        err.code === 'CONFIG_INVALID' && ep.sslMode !== undefined ? [ep.side, 'ssl', 'mode'] : [ep.side, 'url'];
      problems.push(positions.problem(at, err.hint ? `${err.message}. ${err.hint}` : err.message));
    }
    if (ep.caFile !== undefined && !existsSync(ep.caFile)) {
      problems.push(
        positions.problem([ep.side, 'ssl', 'ca_file'], `${ep.side}.ssl.ca_file: file not found: ${ep.caFile}`),
      );
    }
  }

  const s = resolved.source;
  const t = resolved.target;
  if (s && t && sameServerHost(s, t) && s.port === t.port && s.database === t.database) {
    problems.push(
      positions.problem(
        ['target', 'url'],
        `source and target are the same database (${t.display}); a migration needs two different databases`,
      ),
    );
  }

  for (const b of DURATION_BOUNDS) {
    const v = b.get(config);
    if (v < b.min || v > b.max) {
      problems.push(
        positions.problem(
          b.path,
          `${b.path.join('.')} must be between ${formatDuration(b.min)} and ${formatDuration(b.max)}`,
        ),
      );
    }
  }

  const sampleBounds: PathSegment[][] = [
    ['verify', 'sample', 'min_rows'],
    ['verify', 'sample', 'max_rows'],
  ];
  if (!off(...sampleBounds) && config.verify.sample.minRows > config.verify.sample.maxRows) {
    problems.push(
      positions.problem(
        ['verify', 'sample', 'min_rows'],
        'verify.sample.min_rows must not be larger than verify.sample.max_rows',
      ),
    );
  }

  for (const key of Object.keys(config.tables.overrides)) {
    if (key.includes('*')) {
      problems.push(
        positions.problem(['tables', 'overrides'], `tables.overrides: "${key}" must name one table, without *`, {
          key,
        }),
      );
    }
  }

  if (!off(['security'], ['target', 'provider'])) problems.push(...rlsAcknowledgement(config, positions));
  for (const role of config.roles.create) {
    if (isReservedRole(role))
      problems.push(
        positions.problem(
          ['roles', 'create'],
          `roles.create: "${role}" is a reserved role; pgshift never creates or alters it`,
        ),
      );
  }
  const mappedTo = new Map<string, string>();
  for (const [from, to] of Object.entries(config.schemas.map)) {
    const fromReserved = reservedSchema(from);
    if (fromReserved) {
      problems.push(
        positions.problem(
          ['schemas', 'map'],
          `schemas.map: "${from}" ${fromReserved}; it is never migrated, so it cannot be mapped`,
          { key: from },
        ),
      );
    }
    const toReserved = reservedSchema(to);
    if (toReserved) {
      problems.push(
        positions.problem(
          ['schemas', 'map', from],
          `schemas.map: "${to}" ${toReserved}; ${to === STATE_SCHEMA ? 'destroy drops it with CASCADE, which would take the migrated tables with it; ' : ''}map "${from}" to a schema of your own`,
        ),
      );
    }
    const other = mappedTo.get(to);
    if (other !== undefined)
      problems.push(
        positions.problem(['schemas', 'map', from], `schemas.map: "${from}" and "${other}" both map to "${to}"`),
      );
    mappedTo.set(to, from);
    if (!off(['target', 'provider']) && config.target.provider === 'supabase' && isManagedSchema(to)) {
      problems.push(
        positions.problem(
          ['schemas', 'map', from],
          `schemas.map: "${to}" is a schema Supabase manages; map "${from}" to a schema of your own`,
        ),
      );
    }
  }

  const extensionReserved =
    config.target.extensionSchema === undefined ? undefined : reservedSchema(config.target.extensionSchema);
  if (extensionReserved) {
    problems.push(
      positions.problem(
        ['target', 'extension_schema'],
        `target.extension_schema: "${config.target.extensionSchema}" ${extensionReserved}; name a schema of your own (on supabase: extensions)`,
      ),
    );
  }

  const strategy: PathSegment[][] = [
    ['cutover', 'strategy'],
    ['cutover', 'stream', 'replica_identity_full'],
  ];
  if (!off(...strategy) && config.cutover.strategy === 'freeze' && config.cutover.stream.replicaIdentityFull) {
    problems.push(
      positions.problem(
        ['cutover', 'stream', 'replica_identity_full'],
        'cutover.stream.replica_identity_full: true changes source tables for the change stream, but cutover.strategy is freeze; drop one of the two',
      ),
    );
  }

  if (!off(['cutover', 'mode'], ['cutover', 'switch']) && config.cutover.mode === 'auto' && !config.cutover.switch) {
    problems.push(
      positions.problem(
        ['cutover', 'mode'],
        'cutover.mode: auto needs cutover.switch (env_file, variable, value) to know what to switch',
      ),
    );
  }
  return problems;
}

/**
 * Settings that can leave patient rows readable through the Data API with the public anon key (copying them into an
 * API-exposed table without row level security cannot be undone) need security.acknowledge_rls_off: true:
 * `rls: off` anywhere, and on a Supabase target `rls: warn` or an empty `exposed_schemas` (no table gets RLS).
 */
function rlsAcknowledgement(config: Config, positions: Positions): ConfigProblem[] {
  const { rls, acknowledgeRlsOff, exposedSchemas } = config.security;
  if (acknowledgeRlsOff) return [];
  const accept = 'set security.acknowledge_rls_off: true to accept that, or use security.rls: enable (the default)';
  const out: ConfigProblem[] = [];
  if (rls === 'off') {
    out.push(
      positions.problem(
        ['security', 'rls'],
        `security.rls: off leaves tables in exposed schemas readable with the public anon key; ${accept}`,
      ),
    );
  }
  if (config.target.provider !== 'supabase') return out;
  if (rls === 'warn') {
    out.push(
      positions.problem(
        ['security', 'rls'],
        `security.rls: warn on a Supabase target copies rows into API-exposed tables without row level security, readable with the public anon key; ${accept}`,
      ),
    );
  }
  if (rls !== 'off' && exposedSchemas.length === 0) {
    out.push(
      positions.problem(
        ['security', 'exposed_schemas'],
        'security.exposed_schemas: [] on a Supabase target turns row level security off for every table (the Data API serves public unless you changed it); list the schemas your Data API exposes, or set security.acknowledge_rls_off: true to accept that',
      ),
    );
  }
  return out;
}
