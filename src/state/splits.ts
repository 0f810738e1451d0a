/**
 * pgshift.copy_splits: a split table's key boundaries (src/copy/split.ts samples them), kept so that every claimer
 * of a part and every resume cuts the same ranges. Key values: they stay here, never in a plan, log or error.
 */
import type pg from 'pg';

export interface StoredSplit {
  readonly parts: number;
  readonly keyColumns: readonly string[];
  readonly bounds: ReadonlyArray<readonly string[]>;
  readonly method: 'histogram' | 'sample';
}

type Table = { readonly schema: string; readonly name: string };

/** The split stored for a table; `forUpdate` locks its row until the caller's transaction ends. */
export async function readSplit(
  target: pg.ClientBase,
  table: Table,
  forUpdate = false,
): Promise<StoredSplit | undefined> {
  const r = await target.query<{
    parts: number;
    key_columns: string[];
    bounds: string[][];
    method: StoredSplit['method'];
  }>(
    `SELECT parts, key_columns, bounds, method FROM pgshift.copy_splits
      WHERE table_schema = $1 AND table_name = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [table.schema, table.name],
  );
  const row = r.rows[0];
  return row ? { parts: row.parts, keyColumns: row.key_columns, bounds: row.bounds, method: row.method } : undefined;
}

/** Serialises the decision about one table's split until the caller's transaction ends. */
export async function lockSplit(target: pg.ClientBase, table: Table): Promise<void> {
  await target.query(`SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('pgshift.copy_splits ' || $1))`, [
    `${table.schema}.${table.name}`,
  ]);
}

/** Whether any part of the table has a checkpoint (its ranges are in use: they must not move). */
export async function partsBegun(target: pg.ClientBase, table: Table): Promise<boolean> {
  const r = await target.query(
    `SELECT 1 FROM pgshift.migration_checkpoints
      WHERE table_schema = $1 AND table_name = $2 AND unit <> $3 LIMIT 1`,
    [table.schema, table.name, `copy ${table.schema}.${table.name}`],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Stores (or replaces) a table's split, in the caller's transaction. */
export async function storeSplit(
  target: pg.ClientBase,
  table: Table,
  split: StoredSplit,
  runId: string,
): Promise<void> {
  await target.query(
    `INSERT INTO pgshift.copy_splits (table_schema, table_name, parts, key_columns, bounds, method, run_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (table_schema, table_name) DO UPDATE SET parts = excluded.parts, key_columns = excluded.key_columns,
       bounds = excluded.bounds, method = excluded.method, run_id = excluded.run_id, created_at = clock_timestamp()`,
    [
      table.schema,
      table.name,
      split.parts,
      JSON.stringify(split.keyColumns),
      JSON.stringify(split.bounds),
      split.method,
      runId,
    ],
  );
}
