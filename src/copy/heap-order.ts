import type pg from 'pg';
import { qualified } from '../db/ident.js';
import { isTransient } from '../db/retry.js';
import { BATCH_BYTES } from '../plan/copy-actions.js';

/** What ANALYZE knows of a table's heap and of its key's order in it (pg_class, pg_stats). */
export interface HeapOrder {
  /** pg_stats.correlation of the key's first column: 1 or -1 when heap order is key order, about 0 when unrelated. */
  readonly correlation: number;
  /**
   * Heap pages and rows: pg_class.relpages and reltuples, the rows scaled to the heap's pages now when it grew since
   * ANALYZE (as the planner scales them), so that a table grown tenfold is not taken for one batch.
   */
  readonly pages: number;
  readonly tuples: number;
}

/** Below this |correlation| a key range's rows lie anywhere in the heap. */
export const UNORDERED = 0.5;
/** How many times over the batches of a table with an unordered key may read its heap (all its parts together). */
export const HEAP_PASSES = 4;

/** The heap order of a table's key on the source, or null without statistics (never analyzed, or an error). */
export async function readHeapOrder(
  source: pg.ClientBase,
  from: { readonly schema: string; readonly name: string },
  keyColumn: string,
): Promise<HeapOrder | null> {
  const r = await source
    .query<{ correlation: number | null; pages: number; tuples: number; now_pages: number }>(
      `SELECT s.correlation::float8 AS correlation, c.relpages::float8 AS pages, c.reltuples::float8 AS tuples,
              pg_catalog.pg_relation_size(c.oid)::float8 / pg_catalog.current_setting('block_size')::float8 AS now_pages
         FROM pg_catalog.pg_class c
         JOIN pg_catalog.pg_stats s ON s.schemaname = $2 AND s.tablename = $3 AND s.attname = $4 AND NOT s.inherited
        WHERE c.oid = $1::pg_catalog.regclass`,
      [qualified(from.schema, from.name), from.schema, from.name, keyColumn],
    )
    .catch((err: unknown) => {
      // statistics are a help, never a condition
      if (isTransient(err)) throw err;
      return { rows: [] };
    });
  const row = r.rows[0];
  if (!row || row.correlation === null || !(row.pages > 0) || !(row.tuples > 0)) return null;
  const grown = row.now_pages > row.pages ? row.now_pages / row.pages : 1;
  return { correlation: row.correlation, pages: Math.max(row.pages, row.now_pages), tuples: row.tuples * grown };
}

/**
 * Rows per batch of one copy unit (a table or one of its `parts` key ranges), or null: the unit is one batch.
 *
 * A batch is a key range. When the key is in heap order (a serial, a timestamp) its rows share few pages; when it is
 * not (a uuid, a hash, a name) a range of `batchSize` rows is spread over about pages × (1 - e^(-batchSize/pages))
 * pages: once a batch holds as many rows as the heap has pages, every batch reads most of the heap, and a table of
 * N batches is read N times over (3M rows of a uuid key in 30 batches: 5-6 s of source COPY against 2.5-3.5 s for
 * one). Such a unit's batches are made larger, so that all the parts of the table together read the heap at most
 * HEAP_PASSES times (or once per part, for more parts), never larger than BATCH_BYTES of the table's rows: a part of
 * a table in 4 or more parts is then one batch, as pgcopydb copies its parts. A kill loses at most that batch.
 * Batches much smaller than the heap's pages keep their size: each of their rows costs about one page read however
 * they are cut, and larger batches would only lose more to a kill.
 */
export function unitBatchRows(
  batchSize: number,
  heap: HeapOrder | null,
  parts: number,
  bytesPerRow: number,
): number | null {
  if (!heap || Math.abs(heap.correlation) >= UNORDERED || batchSize * 2 < heap.pages) return batchSize;
  const unitRows = heap.tuples / Math.max(1, parts);
  const batches = Math.max(1, Math.ceil(HEAP_PASSES / Math.max(1, parts)));
  const most = bytesPerRow > 0 ? Math.max(1, Math.floor(BATCH_BYTES / bytesPerRow)) : Number.POSITIVE_INFINITY;
  const rows = Math.max(batchSize, Math.ceil(unitRows / batches));
  if (batches === 1 && unitRows <= most) return null;
  return Math.max(batchSize, Math.min(rows, most));
}
