import {
  Kysely,
  PostgresDialect,
  type ColumnType,
  type Generated,
  type PostgresPool,
  type PostgresPoolClient,
} from 'kysely';
import type pg from 'pg';

/** A jsonb column: read back parsed, written as JSON text (pg would turn a JS array into a Postgres array). */
type Json<T = unknown> = ColumnType<T, string, string>;
/** A jsonb column with a default. */
type JsonWithDefault<T = unknown> = ColumnType<T, string | undefined, string>;
/** A bigint column: pg reads it as text; a number is written as is. */
type Bigint = ColumnType<string, number | string, number | string>;
/** A timestamptz column with a default (clock_timestamp()). */
type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;

/**
 * The tables of schema `pgshift` on the target, column for column as the migrations in ./migrations.ts leave them
 * (0001 to 0008). Every query of src/state is typed against these; change them with every new migration.
 */
export interface StateTables {
  'pgshift.runs': {
    id: string;
    command: string;
    migration: string;
    plan_hash: string | null;
    operator: string;
    host: string;
    started_at: Stamp;
    finished_at: Date | null;
    status: 'running' | 'succeeded' | 'failed' | 'interrupted';
    summary: Json | null;
    error: string | null;
  };
  'pgshift.lock': {
    id: Generated<number>;
    lock_id: string;
    run_id: string;
    command: string;
    operator: string;
    host: string;
    os_pid: number;
    backend_pid: number;
    acquired_at: Stamp;
  };
  'pgshift.objects': {
    address: string;
    kind: string;
    definition_hash: string;
    created_by_run: string;
    created_at: Stamp;
  };
  'pgshift.migration_checkpoints': {
    unit: string;
    table_schema: string;
    table_name: string;
    status: 'pending' | 'running' | 'done' | 'failed';
    last_key: Json | null;
    rows_copied: ColumnType<string, number | string | undefined, number | string>;
    bytes_copied: ColumnType<string, number | string | undefined, number | string>;
    started_at: Date | null;
    updated_at: Stamp;
    finished_at: Date | null;
    run_id: string | null;
    error: string | null;
    /** 0005: the source's snapshot xmin when the unit's copy began. */
    source_xmin: Bigint | null;
    /** 0006: the source's pg_current_snapshot() as text when the unit's copy began. */
    source_snapshot: string | null;
    /** 0007: rows and sum of row hashes the unit's batches read on the source (null: not digested). */
    digest_rows: Bigint | null;
    digest_sum: string | null;
    /** 0007: how the rows were hashed (src/verify/expressions.ts DigestRecipe). */
    digest_recipe: Json | null;
    /** 0007: the target read back after the copy: equal to the digest or not. */
    verified: 'match' | 'mismatch' | null;
    verified_at: Date | null;
  };
  'pgshift.verifications': {
    id: string;
    run_id: string | null;
    plan_hash: string | null;
    started_at: Stamp;
    finished_at: Date | null;
    policy: Json;
    result: 'passed' | 'failed' | 'error';
    summary: Json;
    report: Json;
  };
  'pgshift.audit_log': {
    seq: Bigint;
    at: ColumnType<Date, Date | string, Date | string>;
    command: string;
    operator: string;
    host: string;
    run_id: string | null;
    plan_hash: string | null;
    started_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
    outcome: string;
    counts: Json<Record<string, number>>;
    prev_hash: string;
    hash: string;
  };
  'pgshift.cutover': {
    id: string;
    direction: 'cutover' | 'rollback';
    cutover_id: string | null;
    run_id: string;
    status: 'running' | 'done' | 'aborted' | 'rolled_back';
    step: string;
    operator: string;
    host: string;
    started_at: Stamp;
    frozen_at: Date | null;
    switched_at: Date | null;
    finished_at: Date | null;
    freeze_ms: number | null;
    max_freeze_ms: number;
    env_file: string | null;
    variable: string | null;
    backup_file: string | null;
    old_value_sha256: string | null;
    new_value_redacted: string | null;
    steps: JsonWithDefault<Array<{ step: string; at: string; ms: number; detail: string }>>;
    counts: JsonWithDefault<Record<string, number>>;
    error: string | null;
  };
  /** 0006: the change stream, one row per replication slot pgshift created on the source. */
  'pgshift.stream': {
    slot: string;
    publication: string;
    /** the publication of tables published for inserts only (no key, no REPLICA IDENTITY FULL) */
    inserts_publication: string | null;
    /** pg_lsn as text: where the slot's stream begins */
    consistent_lsn: string;
    created_at: Stamp;
    created_by_run: string | null;
    /** pg_lsn as text: the end of the last source transaction committed on the target (exactly once) */
    applied_lsn: string | null;
    source_commit_at: Date | null;
    applied_at: Date | null;
    transactions: ColumnType<string, number | string | undefined, number | string>;
    changes: ColumnType<string, number | string | undefined, number | string>;
    status: ColumnType<StreamStatus, StreamStatus | undefined, StreamStatus>;
    error: string | null;
    updated_at: Stamp;
  };
  /** 0006: source tables whose REPLICA IDENTITY pgshift set to FULL, with the identity to put back. */
  'pgshift.replica_identity': {
    table_schema: string;
    table_name: string;
    old_identity: 'd' | 'n' | 'f' | 'i';
    old_index: string | null;
    set_at: Stamp;
  };
  /** 0008: the large objects pgshift created on the target. */
  'pgshift.large_objects': {
    /** oid as text (pg reads oid as a number: the queries cast it) */
    oid: ColumnType<string, string, string>;
    bytes: Bigint;
    md5: string;
    run_id: string;
    created_at: Stamp;
  };
  /** 0008: the large objects copy's checkpoint (one row). */
  'pgshift.large_object_copy': {
    id: Generated<number>;
    status: 'running' | 'done';
    last_oid: ColumnType<string | null, string | null, string | null>;
    objects: Bigint;
    bytes: Bigint;
    digest: string;
    run_id: string;
    started_at: Stamp;
    updated_at: Stamp;
    finished_at: Date | null;
  };
}

export type StreamStatus = 'created' | 'streaming' | 'stopped' | 'failed';

/**
 * A Kysely instance over ONE existing client, so that state rows and the effects they record commit in the same
 * transaction as the DDL or COPY run on that client. The client is borrowed, never released or ended.
 */
export function stateDb(client: pg.ClientBase): Kysely<StateTables> {
  const borrowed = { query: client.query.bind(client), release: () => undefined } as unknown as PostgresPoolClient;
  const pool: PostgresPool = { connect: async () => borrowed, end: async () => undefined };
  return new Kysely<StateTables>({ dialect: new PostgresDialect({ pool }) });
}
