import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { withTransaction } from '../db/connect.js';
import { qualified, quoteIdent, quoteLiteral } from '../db/ident.js';
import { isTransient } from '../db/retry.js';
import { PgshiftError } from '../errors/index.js';
import type { CopyTableAction } from '../plan/model.js';
import {
  readCheckpoint as readStoredCheckpoint,
  recordCheckpointFailure,
  writeCheckpoint as storeCheckpoint,
} from '../state/checkpoints.js';
import { assertLockHeld } from '../state/lock.js';
import { fenceLease, finishLease } from '../state/work-units.js';
import type { PartRange } from './split.js';
import { describeServerError } from '../db/server-error.js';
import { displayKey } from '../plan/key-display.js';
import { digestSql } from '../verify/expressions.js';
import { COPY_SESSION_SQL } from '../db/copy-session.js';
import { DigestStrip } from './digest-stream.js';
import { readHeapOrder, unitBatchRows } from './heap-order.js';

export interface CopyContext {
  readonly runId: string;
  /** The lock this run holds: every batch checks it still does, in the batch's own transaction. */
  readonly lockId?: string;
  /** A source session for this unit (closed by the caller). */
  readonly source: pg.Client;
  onProgress?(rows: number, bytes: number): void;
  /** Checked between batches: stop cleanly (the unit resumes later). */
  readonly signal?: AbortSignal;
  /** A part of a split table: the keys it covers, (lower, upper] (see ./split.ts). */
  readonly range?: PartRange;
  /**
   * The unit's lease in the queue (pgshift.work_units): every batch checks and renews it in the batch's own
   * transaction, and the last batch marks the unit done there.
   */
  readonly lease?: { readonly unit: string; readonly leaseId: string; readonly leaseMs: number };
}

export interface CopyResult {
  readonly rows: number;
  readonly bytes: number;
  readonly batches: number;
  readonly stopped: boolean;
}

/** What a checkpoint's last_key holds: the key's columns (a resume with another key starts over) and values. */
export interface StoredKey {
  readonly columns: readonly string[];
  readonly values: readonly string[];
}

interface Checkpoint {
  readonly status: string;
  readonly lastKey: StoredKey | null;
  readonly rows: number;
}

function parseStoredKey(v: unknown): StoredKey | null {
  if (v && typeof v === 'object' && !Array.isArray(v) && Array.isArray((v as StoredKey).values)) return v as StoredKey;
  return null;
}

async function readCheckpoint(
  target: pg.ClientBase,
  unit: string,
  forUpdate: boolean,
): Promise<Checkpoint | undefined> {
  const cp = await readStoredCheckpoint(target, unit, { forUpdate });
  return cp ? { status: cp.status, lastKey: parseStoredKey(cp.lastKey), rows: cp.rows } : undefined;
}

/** Writes the checkpoint inside the caller's transaction: data and progress commit together. */
async function writeCheckpoint(
  target: pg.ClientBase,
  a: CopyTableAction,
  ctx: CopyContext,
  status: 'running' | 'done',
  lastKey: StoredKey | null,
  rows: number,
  bytes: number,
  start: CopyStart | null = null,
  digest: BatchDigest | null = null,
): Promise<void> {
  await storeCheckpoint(target, {
    digest: digest && a.digest ? { ...digest, recipe: a.digest } : null,
    unit: a.address,
    table: a.table,
    status,
    lastKey,
    rows,
    bytes,
    runId: ctx.runId,
    start,
  });
}

/** What one batch read on the source: its rows and the sum of their row hashes (src/verify/expressions.ts). */
export interface BatchDigest {
  readonly rows: number;
  readonly sum: string;
}

export interface CopyStart {
  /** The source's clock: the start of its oldest running transaction, or now. */
  readonly at: Date;
  /** The source's snapshot xmin (64-bit txid): every row version whose xmin is not older was written since. */
  readonly xmin: string;
  /** The source's whole snapshot (`xmin:xmax:xip,...`): a transaction's changes are in the copy iff it is visible. */
  readonly snapshot: string;
}

/**
 * When the unit's copy began, on the SOURCE: its snapshot xmin (exact: a transaction running then or started
 * later has an xid not below it) and, for verify.updated_at_column, the start of its oldest running transaction.
 * Verification uses them to tell rows written on a live source since the copy from copy errors.
 */
async function sourceCopyStart(source: pg.ClientBase): Promise<CopyStart> {
  const r = await source.query<{ t: Date; x: string; s: string }>(
    `SELECT least(pg_catalog.now(), (SELECT min(xact_start) FROM pg_catalog.pg_stat_activity
                                      WHERE datname = pg_catalog.current_database() AND xact_start IS NOT NULL)) AS t,
            pg_catalog.txid_snapshot_xmin(pg_catalog.txid_current_snapshot())::text AS x,
            pg_catalog.txid_current_snapshot()::text AS s`,
  );
  const row = r.rows[0];
  return { at: row?.t ?? new Date(), xmin: row?.x ?? '0', snapshot: row?.s ?? '' };
}

/**
 * A unit stopped by a value the target rejects: say so in the state (its own transaction, after the rollback). The
 * message names the batch as reports name keys (an integer key's range, else a row count) and holds no value.
 */
export async function recordFailure(
  target: pg.ClientBase,
  a: CopyTableAction,
  ctx: CopyContext,
  message: string,
): Promise<void> {
  await recordCheckpointFailure(target, { unit: a.address, table: a.table, runId: ctx.runId, error: message });
}

/**
 * The fence of every batch, in the batch's transaction: this run still holds the target's lock (an `unlock` or
 * a target restart may have handed it to another run), and the checkpoint is still where this run left it.
 */
async function fence(
  target: pg.ClientBase,
  a: CopyTableAction,
  ctx: CopyContext,
  expected: StoredKey | null,
): Promise<void> {
  if (ctx.lockId) await assertLockHeld(target, ctx.lockId, `${a.address}: before its next batch`);
  if (ctx.lease) await fenceLease(target, ctx.lease, ctx.lease.leaseMs);
  const cp = await readCheckpoint(target, a.address, true);
  if (
    JSON.stringify(cp?.lastKey?.values ?? null) !== JSON.stringify(expected?.values ?? null) ||
    cp?.status === 'done'
  ) {
    throw new PgshiftError(
      'LOCK_HELD',
      `${a.address}: its checkpoint moved under this run (another run is copying it)`,
      {
        hint: 'Only one apply may run against a target. Run `pgshift status`.',
      },
    );
  }
}

function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb): void {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

function columnList(a: CopyTableAction): string {
  return a.columns.map(quoteIdent).join(', ');
}

/**
 * Streams one COPY from the source into the target's open transaction. Returns rows and bytes moved and, when the
 * action digests, the batch's digest: each row's hash is one more column of the source's COPY, taken off on the
 * way (DigestStrip), so the source reads the rows once.
 */
async function stream(
  source: pg.Client,
  target: pg.ClientBase,
  columns: string,
  fromWhere: string,
  a: CopyTableAction,
  freeze = false,
): Promise<{ rows: number; bytes: number; digest: BatchDigest | null }> {
  const fmt = a.format === 'binary' ? 'binary' : 'text';
  const into = target.query(
    // a table without columns has rows too: COPY takes no column list for it (an empty one is a syntax error)
    copyFrom(
      `COPY ${qualified(a.table.schema, a.table.name)}${a.columns.length ? ` (${columnList(a)})` : ''} FROM STDIN (FORMAT ${fmt}${freeze ? ', FREEZE' : ''})`,
    ),
  );
  const rowsOf = (): number => Number((into as unknown as { rowCount: number }).rowCount ?? 0);
  if (a.digest) {
    const out = source.query(
      copyTo(
        `COPY (SELECT ${columns ? `${columns}, ` : ''}${digestSql(a.digest)} AS pgshift_h ${fromWhere}) TO STDOUT (FORMAT ${fmt})`,
      ),
    );
    const strip = new DigestStrip(fmt);
    await pipeline(out, strip, into);
    return { rows: rowsOf(), bytes: strip.bytes, digest: { rows: strip.rows, sum: strip.sum } };
  }
  let bytes = 0;
  const out = source.query(copyTo(`COPY (SELECT ${columns} ${fromWhere}) TO STDOUT (FORMAT ${fmt})`));
  await pipeline(
    out,
    counter((n) => (bytes += n)),
    into,
  );
  return { rows: rowsOf(), bytes, digest: null };
}

type KeySlot = 'lo' | 'hi' | 'up';

/** `(t.k1, t.k2)` and `(current_setting('pgshift.lo0')::type1, ...)`: key values travel as parameters via set_config. */
function keyTuple(a: CopyTableAction, slot: KeySlot): { cols: string; vals: string } {
  const key = a.key ?? [];
  return {
    cols: `(${key.map((k) => `t.${quoteIdent(k.name)}`).join(', ')})`,
    vals: `(${key.map((k, i) => `CAST(pg_catalog.current_setting(${quoteLiteral(`pgshift.${slot}${i}`)}) AS ${k.type})`).join(', ')})`,
  };
}

/**
 * Upper keys for the batches of a single-column key, from the source's histogram of that column (pg_stats, what
 * ANALYZE left): every bound that many rows apart that batch_size rows are, above the resumed-from key (pgshift.lo0,
 * when `after`). Approximate by nature: the ranges (last, bound] still cover every key exactly once, the last batch is
 * found by exact bounds (an index scan per batch, as without statistics), and a batch much larger than asked
 * (statistics older than the table) ends the planned bounds. Empty without a histogram or for a composite key.
 */
async function statsBounds(
  source: pg.Client,
  a: CopyTableAction,
  batchRows: number,
  from: { readonly schema: string; readonly name: string },
  after: boolean,
  /** Only bounds up to pgshift.up0 (a part's upper key). */
  below = false,
): Promise<string[]> {
  const col = a.key?.length === 1 ? a.key[0] : undefined;
  if (!col) return [];
  // statistics are a help, never a condition: any error reading them means exact bounds
  const r = await source
    .query<{ b: string; per: number | null }>(
      `SELECT u.v::text AS b,
            (SELECT c.reltuples::float8 FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.regclass)
              / nullif(pg_catalog.array_length(s.histogram_bounds::text::${col.type}[], 1) - 1, 0) AS per
       FROM pg_catalog.pg_stats s, unnest(s.histogram_bounds::text::${col.type}[]) WITH ORDINALITY u(v, i)
      WHERE s.schemaname = $2 AND s.tablename = $3 AND s.attname = $4 AND NOT s.inherited
        ${after ? `AND u.v > CAST(pg_catalog.current_setting('pgshift.lo0') AS ${col.type})` : ''}
        ${below ? `AND u.v <= CAST(pg_catalog.current_setting('pgshift.up0') AS ${col.type})` : ''}
      ORDER BY u.i`,
      [qualified(from.schema, from.name), from.schema, from.name, col.name],
    )
    .catch((err: unknown) => {
      if (isTransient(err)) throw err;
      return { rows: [] as { b: string; per: number | null }[] };
    });
  const per = r.rows[0]?.per;
  if (!per || per <= 0 || r.rows.length < 2) return [];
  const stride = Math.max(1, Math.round(batchRows / per));
  const out: string[] = [];
  // the last batch holds at least half a stride: no batch of a few rows after the last bound
  for (let i = stride - 1; i < r.rows.length - 1 - stride / 2; i += stride) out.push((r.rows[i] as { b: string }).b);
  return out;
}

/** Sets every key slot in one round trip (so no value of an earlier batch or unit can linger). */
async function setKey(source: pg.Client, slot: KeySlot, values: readonly string[]): Promise<void> {
  const names = values.map((_v, i) => `pgshift.${slot}${i}`);
  await source.query(
    `SELECT ${values.map((_v, i) => `pg_catalog.set_config($${2 * i + 1}, $${2 * i + 2}, false)`).join(', ')}`,
    names.flatMap((n, i) => [n, values[i]]),
  );
}

/**
 * Makes the COPY of a whole table into its empty target table a COPY FREEZE, inside the caller's transaction: the
 * table locked, found still empty, then truncated, which lets COPY write its rows frozen and all-visible. Nothing
 * reads those pages again to set their hint bits, and autovacuum has nothing to freeze in them later. Another
 * role's table (no TRUNCATE privilege) or one a foreign key references keeps a plain COPY. A row found in the
 * meantime is the same error as before the transaction.
 */
async function truncateForFreeze(target: pg.ClientBase, a: CopyTableAction): Promise<boolean> {
  const table = qualified(a.table.schema, a.table.name);
  await target.query('SAVEPOINT pgshift_freeze');
  try {
    await target.query(`LOCK TABLE ONLY ${table} IN ACCESS EXCLUSIVE MODE`);
    await assertEmpty(target, a);
    await target.query(`TRUNCATE ONLY ${table}`);
    await target.query('RELEASE SAVEPOINT pgshift_freeze');
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== '42501' && code !== '0A000') throw err;
    await target.query('ROLLBACK TO SAVEPOINT pgshift_freeze');
    await target.query('RELEASE SAVEPOINT pgshift_freeze');
    return false;
  }
}

async function assertEmpty(target: pg.ClientBase, a: CopyTableAction): Promise<void> {
  const table = qualified(a.table.schema, a.table.name);
  const r = await target.query<{ has_rows: boolean }>(`SELECT EXISTS (SELECT 1 FROM ONLY ${table}) AS has_rows`);
  if (r.rows[0]?.has_rows) {
    throw new PgshiftError(
      'ACTION_FAILED',
      `${a.address}: the target table already has rows that pgshift did not copy`,
      {
        hint: `Empty it on the target (TRUNCATE ${table}) if those rows are not needed, then run apply again.`,
      },
    );
  }
}

/**
 * A part's first batch: the target table holds no row that pgshift did not copy. Rows of other parts of the same
 * table are expected (each came with its part's checkpoint); so, in one snapshot, the table may hold rows only when
 * some part of it has a checkpoint. (A range check would scan the whole table: it has no index during the copy.)
 */
async function assertNoForeignRows(target: pg.ClientBase, a: CopyTableAction): Promise<void> {
  const table = qualified(a.table.schema, a.table.name);
  const r = await target.query<{ foreign_rows: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ONLY ${table})
            AND NOT EXISTS (SELECT 1 FROM pgshift.migration_checkpoints
                             WHERE table_schema = $1 AND table_name = $2 AND unit <> $3) AS foreign_rows`,
    [a.table.schema, a.table.name, `copy ${a.table.schema}.${a.table.name}`],
  );
  if (r.rows[0]?.foreign_rows) {
    throw new PgshiftError(
      'ACTION_FAILED',
      `${a.address}: the target table already has rows that pgshift did not copy`,
      {
        hint: `Empty it on the target (TRUNCATE ${table}) if those rows are not needed, then run apply again.`,
      },
    );
  }
}

/** Transient errors pass through for the executor's retry; a server's answer becomes an error without values. */
function asBatchError(err: unknown, a: CopyTableAction, range: string): unknown {
  const e = err as { code?: string };
  if (typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code) || isTransient(err)) return err;
  return new PgshiftError(
    'ACTION_FAILED',
    `${a.address}: the target rejected a row in ${range}: ${describeServerError(err)}`,
    {
      hint: 'Fix the value on the source (or the column on the target), then run `pgshift apply` again: the unit resumes at this batch.',
      cause: err,
    },
  );
}

/**
 * Copies one table in keyset batches: each batch is (last key, next key] on the source, streamed into the target
 * in ONE target transaction with its checkpoint row, so a kill loses at most the batch in flight and a resume
 * replays nothing that committed. A table without a key is one atomic unit (COPY + checkpoint in one transaction,
 * into a table that must be empty).
 */
export async function copyTable(a: CopyTableAction, target: pg.Client, ctx: CopyContext): Promise<CopyResult> {
  const from = a.sourceTable ?? a.table;
  const table = `ONLY ${qualified(from.schema, from.name)} t`; // read on the source
  // safe: data and checkpoint commit together; a commit lost in a crash is simply copied again
  await target.query(`${COPY_SESSION_SQL}; SET synchronous_commit = off`);
  await ctx.source.query(`${COPY_SESSION_SQL}; SET default_transaction_read_only = on`);
  const keyColumns = (a.key ?? []).map((k) => k.name);
  let cp = await readCheckpoint(target, a.address, false);
  if (cp?.status === 'done') {
    if (ctx.lease) await finishLease(target, ctx.lease);
    return { rows: 0, bytes: 0, batches: 0, stopped: false };
  }
  if (cp?.lastKey && JSON.stringify(cp.lastKey.columns) !== JSON.stringify(keyColumns)) {
    throw new PgshiftError(
      'ACTION_FAILED',
      `${a.address}: its checkpoint was made with key (${cp.lastKey.columns.join(', ')}) but the key is now (${keyColumns.join(', ')})`,
      {
        hint: `Empty the target table and remove its checkpoint (DELETE FROM pgshift.migration_checkpoints WHERE unit = '${a.address}'), then apply again.`,
      },
    );
  }

  if (!a.key) {
    if (!cp || cp.rows === 0) await assertEmpty(target, a);
    try {
      // one source snapshot for the recorded start and the rows read: the change stream skips exactly the
      // transactions this snapshot sees (a keyless insert must land once)
      const moved = await withTransaction(
        ctx.source,
        async () => {
          const start = await sourceCopyStart(ctx.source);
          return withTransaction(target, async () => {
            await fence(target, a, ctx, null);
            const freeze = await truncateForFreeze(target, a);
            const m = await stream(ctx.source, target, columnList(a), `FROM ${table}`, a, freeze);
            await writeCheckpoint(target, a, ctx, 'done', null, m.rows, m.bytes, start, m.digest);
            if (ctx.lease) await finishLease(target, ctx.lease);
            return m;
          });
        },
        'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
      );
      ctx.onProgress?.(moved.rows, moved.bytes);
      return { ...moved, batches: 1, stopped: false };
    } catch (err) {
      throw asBatchError(err, a, 'the table (one atomic unit)');
    }
  }

  const range = ctx.range;
  if (range?.empty) {
    // fewer distinct keys than parts: no key falls in this one
    await withTransaction(target, async () => {
      await fence(target, a, ctx, cp?.lastKey ?? null);
      await writeCheckpoint(target, a, ctx, 'done', null, 0, 0, null, a.digest ? { rows: 0, sum: '0' } : null);
      if (ctx.lease) await finishLease(target, ctx.lease);
    });
    return { rows: 0, bytes: 0, batches: 1, stopped: false };
  }
  const start = cp ? null : await sourceCopyStart(ctx.source);

  if (!cp) await (range ? assertNoForeignRows(target, a) : assertEmpty(target, a));
  const k = keyTuple(a, 'lo');
  const h = keyTuple(a, 'hi');
  const u = keyTuple(a, 'up');
  const keyCols = (a.key ?? []).map((c) => `t.${quoteIdent(c.name)}`);
  // the checkpoint's key (what the fence expects) and where the next batch starts: a part starts after its lower key
  let stored: StoredKey | null = cp?.lastKey ?? null;
  let last: StoredKey | null = stored ?? (range?.lower ? { columns: keyColumns, values: range.lower } : null);
  const upper = range?.upper ?? null;
  let rows = 0;
  let bytes = 0;
  let batches = 0;
  if (last) await setKey(ctx.source, 'lo', last.values);
  if (upper) await setKey(ctx.source, 'up', upper);
  // a key in no heap order is copied in fewer, larger batches (./heap-order.ts); null: the unit is one batch
  const firstKey = a.key?.[0];
  const heap = firstKey && !a.batchSizeFixed ? await readHeapOrder(ctx.source, from, firstKey.name) : null;
  const batchRows = a.batchSizeFixed
    ? a.batchSize
    : unitBatchRows(a.batchSize, heap, a.part?.of ?? 1, a.estimatedRows > 0 ? a.estimatedBytes / a.estimatedRows : 0);
  // upper keys from the source's statistics, when it has them: no index scan per batch to find them
  let planned =
    batchRows === null ? [] : await statsBounds(ctx.source, a, batchRows, from, last !== null, upper !== null);
  // larger batches of a key in no heap order end with what the statistics' bounds leave: an exact bound would be an
  // index scan visiting most of the heap
  let statsTail = batchRows !== null && batchRows > a.batchSize && planned.length > 0;
  for (;;) {
    if (ctx.signal?.aborted) return { rows, bytes, batches, stopped: true };
    if (last) await setKey(ctx.source, 'lo', last.values);
    let hiValues: string[] | null;
    const nextPlanned = planned.shift();
    if (nextPlanned !== undefined) hiValues = [nextPlanned];
    else if (batchRows === null || statsTail)
      hiValues = null; // the rest of the unit (a part: to its upper key)
    else {
      // the batch's upper key: an index scan in key order (aliased outputs, so ORDER BY sorts by the key itself)
      const within = [...(last ? [`${k.cols} > ${k.vals}`] : []), ...(upper ? [`${u.cols} <= ${u.vals}`] : [])];
      const bound = await ctx.source.query({
        text: `SELECT ${keyCols.map((c, i) => `${c}::text AS k${i}`).join(', ')} FROM ${table} ${within.length ? `WHERE ${within.join(' AND ')}` : ''}
              ORDER BY ${keyCols.join(', ')} OFFSET $1 LIMIT 1`,
        values: [batchRows - 1],
        rowMode: 'array',
      });
      hiValues = (bound.rows[0] as string[] | undefined) ?? null;
    }
    const conds: string[] = [];
    if (last) conds.push(`${k.cols} > ${k.vals}`);
    if (hiValues) {
      await setKey(ctx.source, 'hi', hiValues);
      conds.push(`${h.cols} <= ${h.vals}`);
    } else if (upper) conds.push(`${u.cols} <= ${u.vals}`); // a part's tail: up to its upper key
    const columns = a.columns.map((c) => `t.${quoteIdent(c)}`).join(', ');
    const fromWhere = `FROM ${table}${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}`;
    const next: StoredKey | null = hiValues ? { columns: keyColumns, values: hiValues } : last;
    const expected = stored;
    let moved: { rows: number; bytes: number };
    try {
      moved = await withTransaction(target, async () => {
        await fence(target, a, ctx, expected);
        const m = await stream(ctx.source, target, columns, fromWhere, a);
        // hiValues === null: this was the tail; the unit is done
        await writeCheckpoint(target, a, ctx, hiValues ? 'running' : 'done', next, m.rows, m.bytes, start, m.digest);
        if (!hiValues && ctx.lease) await finishLease(target, ctx.lease);
        return m;
      });
    } catch (err) {
      throw asBatchError(
        err,
        a,
        `the batch ${displayKey(a.key, last?.values ?? null, hiValues, (cp?.rows ?? 0) + rows)}`,
      );
    }
    rows += moved.rows;
    bytes += moved.bytes;
    batches++;
    // statistics older than the table (a batch twice the size asked): exact bounds from here on
    if (batchRows !== null && moved.rows > 2 * batchRows) {
      planned = [];
      statsTail = false;
    }
    ctx.onProgress?.(rows, bytes);
    if (!hiValues) return { rows, bytes, batches, stopped: false };
    last = next;
    stored = next;
    cp = undefined;
  }
}
