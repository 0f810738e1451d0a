import { isAbsolute, resolve } from 'node:path';
import type { Config, EndpointConfig, Side } from './types.js';
import type { RawConfig, RawSsl } from './raw.js';
import { parseDuration, parseSize } from './duration.js';

const SUPABASE_EXPOSED_SCHEMAS = ['public', 'graphql_public'];

function absolute(baseDir: string, p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

function endpoint(
  side: Side,
  raw: { url: string; ssl?: RawSsl; provider?: 'postgres' | 'supabase'; extension_schema?: string },
  baseDir: string,
): EndpointConfig {
  return {
    side,
    url: raw.url,
    provider: raw.provider ?? 'postgres',
    sslMode: raw.ssl?.mode,
    caFile: absolute(baseDir, raw.ssl?.ca_file),
    extensionSchema: raw.extension_schema,
  };
}

function ms(text: string): number {
  const v = parseDuration(text);
  if (v === undefined) throw new Error(`unvalidated duration ${text}`);
  return v;
}

/**
 * Raw (schema-validated, schema defaults filled) -> Config. Schema defaults live in schemas/migration.schema.json;
 * the only defaults computed here are those that depend on other settings (provider-dependent ones).
 */
export function normalize(
  raw: RawConfig,
  file: string | undefined,
  baseDir: string,
  tablesExplicit: boolean,
  batchSizeExplicit = false,
): Config {
  const provider = raw.target.provider;
  return {
    file,
    version: 1,
    name: raw.name,
    source: endpoint('source', raw.source, baseDir),
    target: endpoint('target', raw.target, baseDir),
    tables: {
      explicit: tablesExplicit,
      include: raw.tables.include,
      exclude: raw.tables.exclude,
      overrides: Object.fromEntries(
        Object.entries(raw.tables.overrides).map(([k, v]) => [
          k,
          {
            ...(v.batch_size !== undefined ? { batchSize: v.batch_size } : {}),
            ...(v.key !== undefined ? { key: v.key } : {}),
            ...(v.updated_at_column !== undefined ? { updatedAtColumn: v.updated_at_column } : {}),
          },
        ]),
      ),
    },
    schemas: { map: { ...raw.schemas.map } },
    roles: { map: { ...raw.roles.map }, create: [...raw.roles.create], owners: raw.roles.owners },
    copy: {
      batchSize: raw.copy.batch_size,
      ...(batchSizeExplicit ? { batchSizeExplicit: true } : {}),
      parallel: raw.copy.parallel,
      data: raw.copy.data,
      splitTablesLargerThan:
        raw.copy.split_tables_larger_than === 'off' ? null : (parseSize(raw.copy.split_tables_larger_than) ?? null),
      leaseMs: ms(raw.copy.lease),
    },
    verify: {
      rowCounts: raw.verify.row_counts,
      sample: {
        percent: raw.verify.sample.percent,
        minRows: raw.verify.sample.min_rows,
        maxRows: raw.verify.sample.max_rows,
        seed: raw.verify.sample.seed,
      },
      checksums: raw.verify.checksums,
      updatedAtColumn: raw.verify.updated_at_column,
    },
    cutover: {
      mode: raw.cutover.mode,
      strategy: raw.cutover.strategy ?? 'auto',
      stream: {
        replicaIdentityFull: raw.cutover.stream.replica_identity_full,
        maxSlotRetainedBytes: parseSize(raw.cutover.stream.max_slot_retained) ?? 10 * 1024 ** 3,
      },
      requireVerified: raw.cutover.require_verified,
      maxWriteFreezeMs: ms(raw.cutover.max_write_freeze),
      rollbackWindowMs: ms(raw.cutover.rollback_window),
      drainTimeoutMs: ms(raw.cutover.drain_timeout),
      onDrainTimeout: raw.cutover.on_drain_timeout,
      verify: raw.cutover.verify,
      switch: raw.cutover.switch
        ? {
            envFile: absolute(baseDir, raw.cutover.switch.env_file) as string,
            variable: raw.cutover.switch.variable,
            value: raw.cutover.switch.value,
            command: raw.cutover.switch.command,
          }
        : undefined,
    },
    security: {
      rls: raw.security.rls,
      acknowledgeRlsOff: raw.security.acknowledge_rls_off,
      exposedSchemas: raw.security.exposed_schemas ?? (provider === 'supabase' ? SUPABASE_EXPOSED_SCHEMAS : []),
    },
    connection: {
      connectTimeoutMs: ms(raw.connection.connect_timeout),
      lockTimeoutMs: ms(raw.connection.lock_timeout),
      retry: { attempts: raw.connection.retry.attempts, maxWaitMs: ms(raw.connection.retry.max_wait) },
    },
  };
}
