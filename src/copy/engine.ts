import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { qualified, quoteIdent, quoteLiteral } from '../db/ident.js';
import { isTransient } from '../db/retry.js';
import { PgshiftError } from '../errors/index.js';
import { maskQuoted, scrub } from '../log/redact.js';
import type { CopyTableAction } from '../plan/model.js';

export interface CopyContext {
  readonly runId: string;
  /** A source session for this unit (closed by the caller). */
  readonly source: pg.Client;
  onProgress?(rows: number, bytes: number): void;
  /** Checked between batches: stop cleanly (the unit resumes later). */
  readonly signal?: AbortSignal;
}

export interface CopyResult {
  readonly rows: number;
  readonly bytes: number;
  readonly batches: number;
  readonly stopped: boolean;
}

interface Checkpoint {
  readonly status: string;
  readonly lastKey: string[] | null;
  readonly rows: number;
  readonly bytes: number;
}

async function readCheckpoint(target: pg.ClientBase, unit: string): Promise<Checkpoint | undefined> {
  const r = await target.query<{ status: string; last_key: string[] | null; rows_copied: string; bytes_copied: string }>(
    'SELECT status, last_key, rows_copied, bytes_copied FROM pgshift.migration_checkpoints WHERE unit = $1',
    [unit],
  );
  const row = r.rows[0];
  return row ? { status: row.status, lastKey: row.last_key, rows: Number(row.rows_copied), bytes: Number(row.bytes_copied) } : undefined;
}

/** Writes the checkpoint inside the caller's transaction: data and progress commit together. */
async function writeCheckpoint(target: pg.ClientBase, a: CopyTableAction, ctx: CopyContext, status: string, lastKey: string[] | null, rows: number, bytes: number): Promise<void> {
  await target.query(
    `INSERT INTO pgshift.migration_checkpoints (unit, table_schema, table_name, status, last_key, rows_copied, bytes_copied, started_at, updated_at, finished_at, run_id, error)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, clock_timestamp(), clock_timestamp(), CASE WHEN $4 = 'done' THEN clock_timestamp() END, $8, NULL)
     ON CONFLICT (unit) DO UPDATE SET status = EXCLUDED.status, last_key = EXCLUDED.last_key,
       rows_copied = pgshift.migration_checkpoints.rows_copied + EXCLUDED.rows_copied,
       bytes_copied = pgshift.migration_checkpoints.bytes_copied + EXCLUDED.bytes_copied,
       updated_at = clock_timestamp(), finished_at = EXCLUDED.finished_at, run_id = EXCLUDED.run_id, error = NULL`,
    [a.address, a.table.schema, a.table.name, status, lastKey === null ? null : JSON.stringify(lastKey), rows, bytes, ctx.runId],
  );
}

function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb): void {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

/** Streams one COPY from the source into the target's open transaction. Returns rows and bytes moved. */
async function stream(source: pg.Client, target: pg.ClientBase, selectSql: string, a: CopyTableAction): Promise<{ rows: number; bytes: number }> {
  const cols = a.columns.map(quoteIdent).join(', ');
  const fmt = a.format === 'binary' ? 'binary' : 'text';
  let bytes = 0;
  const out = source.query(copyTo(`COPY (${selectSql}) TO STDOUT (FORMAT ${fmt})`));
  const into = target.query(copyFrom(`COPY ${qualified(a.table.schema, a.table.name)} (${cols}) FROM STDIN (FORMAT ${fmt})`));
  await pipeline(out, counter((n) => (bytes += n)), new PassThrough(), into);
  return { rows: Number((into as unknown as { rowCount: number }).rowCount ?? 0), bytes };
}

function selectList(a: CopyTableAction): string {
  return a.columns.map(quoteIdent).join(', ');
}

/** `(k1, k2)` and `(current_setting('pgshift.k1')::type1, ...)`: key values travel as parameters via set_config. */
function keyTuple(a: CopyTableAction, slot: 'lo' | 'hi'): { cols: string; vals: string } {
  const key = a.key ?? [];
  return {
    cols: `(${key.map((k) => quoteIdent(k.name)).join(', ')})`,
    vals: `(${key.map((k, i) => `CAST(pg_catalog.current_setting(${quoteLiteral(`pgshift.${slot}${i}`)}) AS ${k.type})`).join(', ')})`,
  };
}

async function setKey(source: pg.Client, slot: 'lo' | 'hi', values: readonly string[]): Promise<void> {
  for (let i = 0; i < values.length; i++) await source.query('SELECT pg_catalog.set_config($1, $2, false)', [`pgshift.${slot}${i}`, values[i]]);
}

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);

/**
 * A value the target rejects stops the unit: name the table, the key range (integer keys only: other keys may be
 * patient data) and the server's message with every quoted value masked. Transient errors pass through unchanged
 * for the executor to retry.
 */
function describeBatchError(err: unknown, a: CopyTableAction, lo: string[] | null, hi: string[] | null, rowsBefore: number): unknown {
  const e = err as { code?: string; message?: string };
  if (typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code) || isTransient(err)) return err;
  const key = a.key ?? [];
  const showKey = key.length === 1 && INTEGER_TYPES.has(key[0]?.type ?? '');
  const range = showKey
    ? `${key[0]?.name} in (${lo?.[0] ?? '-inf'}, ${hi?.[0] ?? '+inf'}]`
    : `the batch after ${rowsBefore.toLocaleString('en-US')} rows`;
  const message = maskQuoted(scrub(e.message ?? 'failed'));
  return new PgshiftError('ACTION_FAILED', `${a.address}: the target rejected a row in ${range}: ${message} (SQLSTATE ${e.code})`, {
    hint: 'Fix the value on the source (or the column on the target), then run `pgshift apply` again: the unit resumes at this batch.',
    cause: err,
  });
}

/**
 * Copies one table in keyset batches: each batch is (last key, next key] on the source, streamed into the target
 * in ONE target transaction with its checkpoint row, so a kill loses at most the batch in flight and a resume
 * replays nothing that committed. A table without a key is one atomic unit (TRUNCATE + COPY + checkpoint).
 */
export async function copyTable(a: CopyTableAction, target: pg.Client, ctx: CopyContext): Promise<CopyResult> {
  const table = qualified(a.table.schema, a.table.name);
  await target.query('SET synchronous_commit = off'); // safe: data and checkpoint commit together, a lost commit is replayed
  await ctx.source.query('SET default_transaction_read_only = on');
  const cp = await readCheckpoint(target, a.address);
  if (cp?.status === 'done') return { rows: 0, bytes: 0, batches: 0, stopped: false };

  if (!a.key) {
    await target.query('BEGIN');
    try {
      await target.query(`TRUNCATE ${table}`);
      const moved = await stream(ctx.source, target, `SELECT ${selectList(a)} FROM ONLY ${table}`, a);
      await writeCheckpoint(target, a, ctx, 'done', null, moved.rows, moved.bytes);
      await target.query('COMMIT');
      ctx.onProgress?.(moved.rows, moved.bytes);
      return { ...moved, batches: 1, stopped: false };
    } catch (err) {
      await target.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  if (!cp) {
    // never copied: the target table must be empty, or rows pgshift did not copy would be doubled
    const r = await target.query(`SELECT EXISTS (SELECT 1 FROM ONLY ${table}) AS has_rows`);
    if ((r.rows[0] as { has_rows: boolean }).has_rows) {
      throw new PgshiftError('ACTION_FAILED', `${a.address}: the target table already has rows that pgshift did not copy`, {
        hint: `Empty it on the target (TRUNCATE ${table}) if those rows are not needed, then run apply again.`,
      });
    }
  }

  const k = keyTuple(a, 'lo');
  const h = keyTuple(a, 'hi');
  const keyCols = (a.key ?? []).map((c) => quoteIdent(c.name));
  let last = cp?.lastKey ?? null;
  let rows = 0;
  let bytes = 0;
  let batches = 0;
  for (;;) {
    if (ctx.signal?.aborted) return { rows, bytes, batches, stopped: true };
    const lower = last ? `WHERE ${k.cols} > ${k.vals}` : '';
    if (last) await setKey(ctx.source, 'lo', last);
    // the batch's upper key: an index scan, OFFSET batch-1 past the last copied key
    const bound = await ctx.source.query({
      text: `SELECT ${keyCols.map((c) => `${c}::text`).join(', ')} FROM ONLY ${table} ${lower} ORDER BY ${keyCols.join(', ')} OFFSET $1 LIMIT 1`,
      values: [a.batchSize - 1],
      rowMode: 'array',
    });
    const hi = (bound.rows[0] as string[] | undefined) ?? null;
    const conds: string[] = [];
    if (last) conds.push(`${k.cols} > ${k.vals}`);
    if (hi) {
      await setKey(ctx.source, 'hi', hi);
      conds.push(`${h.cols} <= ${h.vals}`);
    }
    const select = `SELECT ${selectList(a)} FROM ONLY ${table}${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}`;
    await target.query('BEGIN');
    let moved: { rows: number; bytes: number };
    try {
      moved = await stream(ctx.source, target, select, a);
      // hi === null: this was the tail; the unit is done and resumes nowhere
      const lastKey = hi ?? last;
      await writeCheckpoint(target, a, ctx, hi ? 'running' : 'done', lastKey, moved.rows, moved.bytes);
      await target.query('COMMIT');
    } catch (err) {
      await target.query('ROLLBACK').catch(() => undefined);
      throw describeBatchError(err, a, last, hi, (cp?.rows ?? 0) + rows);
    }
    rows += moved.rows;
    bytes += moved.bytes;
    batches++;
    ctx.onProgress?.(rows, bytes);
    if (!hi) return { rows, bytes, batches, stopped: false };
    last = hi;
  }
}
