/**
 * Key ranges of a split table (copy.split_tables_larger_than). The boundaries are sampled on the source once, for
 * any key type (integer, uuid, text, composite): the histogram ANALYZE left in pg_stats for a one-column key, else
 * a TABLESAMPLE SYSTEM of the key read in key order, cut at its quantiles. They are stored in the state
 * (pgshift.copy_splits) in the transaction that decides them and read from there by every claimer of a part, so a
 * resumed part never overlaps another: part i is (bound i-1, bound i], the first unbounded below, the last above.
 * Boundaries are key values (perhaps identifiers of patients): they stay in the state and in memory, never in a
 * plan, log or error.
 */
import type pg from 'pg';
import { withTransaction } from '../db/connect.js';
import { qualified, quoteIdent } from '../db/ident.js';
import { isTransient } from '../db/retry.js';
import { PgshiftError } from '../errors/index.js';
import type { CopyTableAction } from '../plan/model.js';
import { lockSplit, partsBegun, readSplit, storeSplit, type StoredSplit } from '../state/splits.js';

/** One part's keys: (lower, upper]; null bounds are open. `empty`: no key falls in it (fewer distinct keys than parts). */
export interface PartRange {
  readonly lower: readonly string[] | null;
  readonly upper: readonly string[] | null;
  readonly empty: boolean;
}

/** Ascending, distinct, at most parts - 1 boundaries (each the key's values as text). */
export type Split = StoredSplit;

/** Rows read in key order to cut a table without a usable histogram (per part, at least). */
const SAMPLE_ROWS_PER_PART = 200;
const SAMPLE_ROWS_MIN = 2_000;

/** The range of part `index` (1-based) of a split: parts past the last boundary but one are empty. */
export function partRange(split: Pick<Split, 'bounds'>, index: number): PartRange {
  const n = split.bounds.length;
  if (index > n + 1) return { lower: null, upper: null, empty: true };
  return {
    lower: index === 1 ? null : (split.bounds[index - 2] ?? null),
    upper: index === n + 1 ? null : (split.bounds[index - 1] ?? null),
    empty: false,
  };
}

/** `count - 1` cut points of an ascending list, without repeats (equal neighbours make one). */
export function quantiles<T>(sorted: readonly T[], parts: number, same: (a: T, b: T) => boolean): T[] {
  const out: T[] = [];
  if (sorted.length === 0) return out;
  for (let j = 1; j < parts; j++) {
    const v = sorted[Math.min(sorted.length - 1, Math.floor((j * sorted.length) / parts))] as T;
    const prev = out.at(-1);
    if (prev === undefined || !same(prev, v)) out.push(v);
  }
  return out;
}

const sameKey = (a: readonly string[], b: readonly string[]): boolean => JSON.stringify(a) === JSON.stringify(b);

async function histogram(
  source: pg.ClientBase,
  from: { readonly schema: string; readonly name: string },
  col: { readonly name: string; readonly type: string },
): Promise<string[]> {
  const r = await source
    .query<{ b: string }>(
      `SELECT u.v::text AS b
         FROM pg_catalog.pg_stats s, unnest(s.histogram_bounds::text::${col.type}[]) WITH ORDINALITY u(v, i)
        WHERE s.schemaname = $1 AND s.tablename = $2 AND s.attname = $3 AND NOT s.inherited
        ORDER BY u.i`,
      [from.schema, from.name, col.name],
    )
    .catch((err: unknown) => {
      // statistics are a help, never a condition
      if (isTransient(err)) throw err;
      return { rows: [] as { b: string }[] };
    });
  return r.rows.map((x) => x.b);
}

async function sampled(
  source: pg.ClientBase,
  a: CopyTableAction,
  from: { readonly schema: string; readonly name: string },
  parts: number,
): Promise<string[][]> {
  const key = a.key ?? [];
  const size = await source.query<{ tuples: number; bytes: string }>(
    `SELECT c.reltuples::float8 AS tuples, pg_catalog.pg_relation_size(c.oid)::text AS bytes
       FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.regclass`,
    [qualified(from.schema, from.name)],
  );
  const tuples = size.rows[0]?.tuples ?? -1;
  const bytes = Number(size.rows[0]?.bytes ?? 0);
  const want = Math.max(SAMPLE_ROWS_MIN, parts * SAMPLE_ROWS_PER_PART);
  // never analyzed (reltuples -1): about 16 MiB of its pages
  const share = tuples > 0 ? want / tuples : (16 * 1024 * 1024) / Math.max(1, bytes);
  const cols = key.map((k) => `t.${quoteIdent(k.name)}`);
  const read = async (percent: number): Promise<string[][]> => {
    const r = await source.query({
      text: `SELECT ${cols.map((c, i) => `${c}::text AS k${i}`).join(', ')}
               FROM ONLY ${qualified(from.schema, from.name)} t TABLESAMPLE SYSTEM ($1)
              ORDER BY ${cols.join(', ')}`,
      values: [percent],
      rowMode: 'array',
    });
    return r.rows as string[][];
  };
  const percent = Math.min(100, Math.max(0.001, share * 100));
  let rows = await read(percent);
  // a few pages sampled (a small table, or stale statistics): read all of it
  if (rows.length < parts && percent < 100) rows = await read(100);
  return rows;
}

/** Samples a table's key boundaries on the source (see the module comment). */
export async function sampleSplit(source: pg.ClientBase, a: CopyTableAction, parts: number): Promise<Split> {
  const key = a.key;
  if (!key || key.length === 0)
    throw new PgshiftError('INTERNAL', `${a.address}: a table without a key is never split`);
  const from = a.sourceTable ?? a.table;
  const keyColumns = key.map((k) => k.name);
  const col = key.length === 1 ? key[0] : undefined;
  if (col) {
    const h = await histogram(source, from, col);
    // a histogram with fewer bounds than parts cuts too coarsely: sample instead
    if (h.length > parts) {
      const bounds = quantiles(
        h.map((v) => [v]),
        parts,
        sameKey,
      );
      return { parts, keyColumns, bounds, method: 'histogram' };
    }
  }
  const rows = await sampled(source, a, from, parts);
  return { parts, keyColumns, bounds: quantiles(rows, parts, sameKey), method: 'sample' };
}

/**
 * Makes sure every split table of these copy parts has its boundaries in the state: kept when stored with the same
 * part count and key, else sampled now and stored, in one target transaction per table (the row locked while
 * deciding). A stored split that no longer fits while parts of it were copied is an error: the ranges must not move.
 */
export async function ensureSplits(
  target: pg.Client,
  source: pg.ClientBase,
  actions: readonly CopyTableAction[],
  runId: string,
): Promise<Map<string, Split>> {
  const out = new Map<string, Split>();
  for (const a of actions) {
    if (!a.part) continue;
    const name = `${a.table.schema}.${a.table.name}`;
    if (out.has(name)) continue;
    const split = await withTransaction(target, async () => {
      await lockSplit(target, a.table);
      const stored = await readSplit(target, a.table, true);
      const keyColumns = (a.key ?? []).map((k) => k.name);
      if (stored && stored.parts === a.part?.of && sameKey(stored.keyColumns, keyColumns)) return stored;
      if (stored && (await partsBegun(target, a.table))) {
        throw new PgshiftError(
          'ACTION_FAILED',
          `copy ${name}: its parts were begun with ${stored.parts} key ranges on (${stored.keyColumns.join(', ')}), the plan now has ${a.part?.of ?? 1} on (${keyColumns.join(', ')})`,
          {
            hint: `Empty the target table and remove its rows in pgshift.migration_checkpoints (table_schema '${a.table.schema}', table_name '${a.table.name}'), then apply again.`,
          },
        );
      }
      const fresh = await sampleSplit(source, a, a.part?.of ?? 2);
      await storeSplit(target, a.table, fresh, runId);
      return fresh;
    });
    out.set(name, split);
  }
  return out;
}

/** The range a copy part covers, from the split stored in the state (undefined for a whole table's copy). */
export async function rangeOf(target: pg.ClientBase, a: CopyTableAction): Promise<PartRange | undefined> {
  if (!a.part) return undefined;
  const split = await readSplit(target, a.table);
  if (!split || split.parts !== a.part.of) {
    throw new PgshiftError('ACTION_FAILED', `${a.address}: its table's key ranges are not in the state`, {
      hint: 'Run `pgshift apply` again: it samples them before any part is copied.',
    });
  }
  return partRange(split, a.part.index);
}
