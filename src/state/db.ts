import { Kysely, PostgresDialect, type Generated, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/** The tables of schema `pgshift` on the target (see migrations.ts). */
export interface StateTables {
  'pgshift.runs': {
    id: string;
    command: string;
    migration: string;
    plan_hash: string | null;
    operator: string;
    host: string;
    started_at: Generated<Date>;
    finished_at: Date | null;
    status: string;
    summary: unknown;
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
    acquired_at: Generated<Date>;
  };
  'pgshift.objects': {
    address: string;
    kind: string;
    definition_hash: string;
    created_by_run: string;
    created_at: Generated<Date>;
  };
  'pgshift.migration_checkpoints': {
    unit: string;
    table_schema: string;
    table_name: string;
    status: string;
    last_key: unknown;
    rows_copied: Generated<string>;
    bytes_copied: Generated<string>;
    started_at: Date | null;
    updated_at: Generated<Date>;
    finished_at: Date | null;
    run_id: string | null;
    error: string | null;
  };
}

/**
 * A Kysely instance over ONE existing client, so that state rows and the effects they record commit in the same
 * transaction as the DDL or COPY run on that client.
 */
export function stateDb(client: pg.ClientBase): Kysely<StateTables> {
  const pool: PostgresPool = {
    connect: async () => Object.assign(client, { release: () => undefined }) as unknown as PostgresPoolClient,
    end: async () => undefined,
  };
  return new Kysely<StateTables>({ dialect: new PostgresDialect({ pool }) });
}
