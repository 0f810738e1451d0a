import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type pg from 'pg';
import { quoteIdent } from '../db/ident.js';
import { PgshiftError } from '../errors/index.js';
import type { StateTables } from './db.js';

export const STATE_SCHEMA = 'pgshift';

/**
 * The versioned layout of schema `pgshift`. Append new migrations; never edit one that has shipped.
 * Each runs in its own transaction under kysely's migration lock.
 */
const MIGRATIONS: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`CREATE TABLE pgshift.runs (
        id text PRIMARY KEY,
        command text NOT NULL,
        migration text NOT NULL,
        plan_hash text,
        operator text NOT NULL,
        host text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at timestamptz,
        status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
        summary jsonb,
        error text
      )`.execute(db);
      await sql`CREATE TABLE pgshift.lock (
        id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        lock_id text NOT NULL,
        run_id text NOT NULL,
        command text NOT NULL,
        operator text NOT NULL,
        host text NOT NULL,
        os_pid integer NOT NULL,
        backend_pid integer NOT NULL,
        acquired_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`.execute(db);
      await sql`CREATE TABLE pgshift.objects (
        address text PRIMARY KEY,
        kind text NOT NULL,
        definition_hash text NOT NULL,
        created_by_run text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`.execute(db);
      await sql`CREATE TABLE pgshift.migration_checkpoints (
        unit text PRIMARY KEY,
        table_schema text NOT NULL,
        table_name text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
        last_key jsonb,
        rows_copied bigint NOT NULL DEFAULT 0,
        bytes_copied bigint NOT NULL DEFAULT 0,
        started_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at timestamptz,
        run_id text,
        error text
      )`.execute(db);
      await sql`COMMENT ON SCHEMA pgshift IS 'pgshift state: runs, lock, created objects, copy checkpoints. Never migrated, verified or destroyed as user data.'`.execute(
        db,
      );
    },
  },
  '0002_verifications': {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`CREATE TABLE pgshift.verifications (
        id text PRIMARY KEY,
        run_id text,
        plan_hash text,
        started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at timestamptz,
        policy jsonb NOT NULL,
        result text NOT NULL CHECK (result IN ('passed', 'failed', 'error')),
        summary jsonb NOT NULL,
        report jsonb NOT NULL
      )`.execute(db);
      await sql`COMMENT ON TABLE pgshift.verifications IS 'verification reports: counts, hashes and keys only, never column values'`.execute(
        db,
      );
    },
  },
  '0003_audit_log': {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`CREATE TABLE pgshift.audit_log (
        seq bigint PRIMARY KEY,
        at timestamptz NOT NULL,
        command text NOT NULL,
        operator text NOT NULL,
        host text NOT NULL,
        run_id text,
        plan_hash text,
        started_at timestamptz,
        outcome text NOT NULL,
        counts jsonb NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL
      )`.execute(db);
      await sql`COMMENT ON TABLE pgshift.audit_log IS 'append-only, hash-chained: each entry carries the previous entry''s hash; pgshift status --audit checks the chain'`.execute(
        db,
      );
    },
  },
  '0004_cutover': {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`CREATE TABLE pgshift.cutover (
        id text PRIMARY KEY,
        direction text NOT NULL CHECK (direction IN ('cutover', 'rollback')),
        cutover_id text,
        run_id text NOT NULL,
        status text NOT NULL,
        step text NOT NULL,
        operator text NOT NULL,
        host text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        frozen_at timestamptz,
        switched_at timestamptz,
        finished_at timestamptz,
        freeze_ms integer,
        max_freeze_ms integer NOT NULL,
        env_file text,
        variable text,
        backup_file text,
        old_value_sha256 text,
        new_value_redacted text,
        steps jsonb NOT NULL DEFAULT '[]',
        counts jsonb NOT NULL DEFAULT '{}',
        error text
      )`.execute(db);
      await sql`COMMENT ON TABLE pgshift.cutover IS 'cutovers and rollbacks, step by step; the previous switch value lives in a 0600 backup file next to the env file (named here), never in this table'`.execute(
        db,
      );
    },
  },
  '0005_copy_source_xmin': {
    async up(db: Kysely<unknown>): Promise<void> {
      // the source's snapshot xmin when a unit's copy began: rows whose xmin is not older were written since
      await sql`ALTER TABLE pgshift.migration_checkpoints ADD COLUMN source_xmin bigint`.execute(db);
    },
  },
  '0006_stream': {
    async up(db: Kysely<unknown>): Promise<void> {
      // the source's whole snapshot (pg_current_snapshot()) when a unit's copy began: a change of transaction X is
      // in the copy exactly when X is visible to it (the change stream skips those; verify tells rows written since)
      await sql`ALTER TABLE pgshift.migration_checkpoints ADD COLUMN source_snapshot text`.execute(db);
      // the change stream: one row per replication slot pgshift created on the source
      await sql`
        CREATE TABLE pgshift.stream (
          slot text PRIMARY KEY,
          publication text NOT NULL,
          inserts_publication text,
          consistent_lsn pg_lsn NOT NULL,
          created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
          created_by_run text,
          applied_lsn pg_lsn,
          source_commit_at timestamptz,
          applied_at timestamptz,
          transactions bigint NOT NULL DEFAULT 0,
          changes bigint NOT NULL DEFAULT 0,
          status text NOT NULL DEFAULT 'created'
            CHECK (status IN ('created', 'streaming', 'stopped', 'failed')),
          error text,
          updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )`.execute(db);
      // source tables whose REPLICA IDENTITY pgshift changed (to FULL): destroy puts the old one back
      await sql`
        CREATE TABLE pgshift.replica_identity (
          table_schema text NOT NULL,
          table_name text NOT NULL,
          old_identity "char" NOT NULL CHECK (old_identity IN ('d', 'n', 'f', 'i')),
          old_index text,
          set_at timestamptz NOT NULL DEFAULT clock_timestamp(),
          PRIMARY KEY (table_schema, table_name)
        )`.execute(db);
    },
  },
  '0007_copy_digest': {
    async up(db: Kysely<unknown>): Promise<void> {
      // what each unit's batches read on the source (count and sum of row hashes, in each batch's snapshot) and how
      // the rows were hashed; then what the target held when the copy's own verification read it back
      await sql`ALTER TABLE pgshift.migration_checkpoints
                  ADD COLUMN digest_rows bigint,
                  ADD COLUMN digest_sum numeric,
                  ADD COLUMN digest_recipe jsonb,
                  ADD COLUMN verified text CHECK (verified IN ('match', 'mismatch')),
                  ADD COLUMN verified_at timestamptz`.execute(db);
    },
  },
  '0008_work_units': {
    async up(db: Kysely<unknown>): Promise<void> {
      // a split table's key boundaries, sampled on the source once and kept: every resume cuts the same ranges
      await sql`
        CREATE TABLE pgshift.copy_splits (
          table_schema text NOT NULL,
          table_name text NOT NULL,
          parts integer NOT NULL CHECK (parts >= 2),
          key_columns jsonb NOT NULL,
          bounds jsonb NOT NULL,
          method text NOT NULL,
          run_id text,
          created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
          PRIMARY KEY (table_schema, table_name)
        )`.execute(db);
      // the copy units of the running apply: a queue that the apply's copy slots and any `pgshift worker` take
      // units from (FOR UPDATE SKIP LOCKED), each held by a lease its holder renews
      await sql`
        CREATE TABLE pgshift.work_units (
          unit text PRIMARY KEY,
          seq integer NOT NULL,
          run_id text NOT NULL,
          table_schema text NOT NULL,
          table_name text NOT NULL,
          action jsonb NOT NULL,
          ready boolean NOT NULL DEFAULT false,
          status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'claimed', 'done', 'failed')),
          lease_id text,
          owner text,
          lease_until timestamptz,
          heartbeat_at timestamptz,
          holder_pid integer,
          holder_started timestamptz,
          claims integer NOT NULL DEFAULT 0,
          error text,
          updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )`.execute(db);
      await sql`CREATE INDEX work_units_claimable ON pgshift.work_units (seq) WHERE ready AND status <> 'done'`.execute(
        db,
      );
    },
  },
  '0009_large_objects': {
    async up(db: Kysely<unknown>): Promise<void> {
      // the large objects pgshift created on the target (destroy unlinks exactly these), each with the md5 of what
      // the copy read on the source
      await sql`CREATE TABLE pgshift.large_objects (
        oid oid PRIMARY KEY,
        bytes bigint NOT NULL,
        md5 text NOT NULL,
        run_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`.execute(db);
      // the copy's checkpoint: the last OID a committed batch copied, what was copied so far, and a digest chained
      // over the batches (sha256 of the previous digest and each object's OID and md5)
      await sql`CREATE TABLE pgshift.large_object_copy (
        id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        status text NOT NULL CHECK (status IN ('running', 'done')),
        last_oid oid,
        objects bigint NOT NULL DEFAULT 0,
        bytes bigint NOT NULL DEFAULT 0,
        digest text NOT NULL,
        run_id text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at timestamptz
      )`.execute(db);
    },
  },
  '0010_target_large_objects': {
    async up(db: Kysely<unknown>): Promise<void> {
      // the target's own large objects (neither copied by pgshift nor carried back), listed by each cutover before
      // its switch: a rollback leaves them where they are, and destroy never unlinks them
      await sql`CREATE TABLE pgshift.target_large_objects (
        oid oid PRIMARY KEY,
        listed_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`.execute(db);
    },
  },
};

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

export const LATEST_STATE_VERSION = Object.keys(MIGRATIONS).sort().at(-1) as string;

function migrator(db: Kysely<StateTables>): Migrator {
  return new Migrator({
    db: db as unknown as Kysely<unknown>,
    provider: new StaticProvider(),
    migrationTableSchema: STATE_SCHEMA,
    migrationTableName: 'state_migrations',
    migrationLockTableName: 'state_migrations_lock',
  });
}

/**
 * A state written by a newer pgshift holds migrations this version does not know: kysely would call that corrupted.
 * Say what it is instead, before anything is touched.
 */
async function refuseNewerState(db: Kysely<StateTables>): Promise<void> {
  const exists = await sql<{ ok: boolean }>`SELECT to_regclass('pgshift.state_migrations') IS NOT NULL AS ok`.execute(
    db,
  );
  if (exists.rows[0]?.ok !== true) return;
  const done = await sql<{ name: string }>`SELECT name FROM pgshift.state_migrations ORDER BY name`.execute(db);
  const unknown = done.rows.map((r) => r.name).filter((n) => !(n in MIGRATIONS));
  if (unknown.length === 0) return;
  throw new PgshiftError(
    'STATE_NEWER',
    `the state schema pgshift on the target was written by a newer pgshift (state migrations ${unknown.join(', ')}; this version knows up to ${LATEST_STATE_VERSION})`,
    { hint: 'Run the pgshift version that last worked on this target (or a newer one); this one changed nothing.' },
  );
}

/** Creates or upgrades schema pgshift. Idempotent; safe to run concurrently (kysely's migration lock). */
export async function migrateState(db: Kysely<StateTables>): Promise<void> {
  await sql`CREATE SCHEMA IF NOT EXISTS pgshift`.execute(db).catch(async (err: unknown) => {
    // two first runs racing: the schema appeared meanwhile
    if ((err as { code?: string }).code !== '23505') throw err;
  });
  await refuseNewerState(db);
  const { error, results } = await migrator(db).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new PgshiftError(
      'INTERNAL',
      `cannot prepare the state schema pgshift on the target${failed ? ` (migration ${failed.migrationName})` : ''}: ${(error as Error).message}`,
      {
        hint: 'The target role needs CREATE on the database. Run `pgshift doctor`.',
        cause: error,
      },
    );
  }
}

/** True when schema pgshift exists on the target (read-only check for plan/status). */
export async function stateExists(db: Kysely<StateTables>): Promise<boolean> {
  const r = await sql<{ ok: boolean }>`SELECT to_regclass('pgshift.runs') IS NOT NULL AS ok`.execute(db);
  return r.rows[0]?.ok === true;
}

/** Drops schema pgshift and everything in it (destroy, last, while its lock is still held). */
export async function dropState(client: pg.ClientBase): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(STATE_SCHEMA)} CASCADE`);
}
