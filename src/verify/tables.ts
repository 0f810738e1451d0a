import type pg from 'pg';
import type { TableInfo } from '../catalog/types.js';
import { quoteIdent } from '../db/ident.js';
import type { TablePair } from '../mapping/table-pairs.js';
import { BUCKET_SEED, keyHash, keysArePlain, pairExprs, type TableExpr } from './expressions.js';
import type { RowDifference, TableResult } from './report.js';

export interface Sides {
  readonly source: pg.ClientBase;
  readonly target: pg.ClientBase;
}

export interface TableCheckOptions {
  readonly full: boolean;
  readonly showValues: boolean;
  readonly keyOverride?: readonly string[];
  /** Most differences listed per table (the rest is counted as truncated). */
  readonly maxDifferences?: number;
  /** Both servers hash records (14+; see canHashRecords): typed row hashes instead of hashed row texts. */
  readonly recordHash?: boolean;
  /**
   * How to tell rows written on the source since this table's copy began: by the source's snapshot xmin recorded
   * then (exact, needs no column), or by the column the application sets on every write (verify.updated_at_column).
   */
  readonly writtenSince?: { readonly xmin: string } | { readonly column: string; readonly copyStarted: Date };
}

/**
 * A table's expressions: one for both sides, or one per side when the sides name the table differently (the same
 * columns; a sync from the target back to the source, a schema renamed by schemas.map).
 */
export type PairExpr = TableExpr | { readonly source: TableExpr; readonly target: TableExpr };

function onSide(e: PairExpr, side: 'source' | 'target'): TableExpr {
  return 'from' in e ? e : e[side];
}

/** The same statement on both sides, each built from that side's expressions. */
async function both<R extends pg.QueryResultRow>(
  sides: Sides,
  e: PairExpr,
  build: (x: TableExpr) => string,
  values: unknown[] = [],
): Promise<[R[], R[]]> {
  const [s, t] = await Promise.all([
    sides.source.query<R>(build(onSide(e, 'source')), values),
    sides.target.query<R>(build(onSide(e, 'target')), values),
  ]);
  return [s.rows, t.rows];
}

export function pow2Between(n: number, lo: number, hi: number): number {
  let p = lo;
  while (p < n && p < hi) p *= 2;
  return p;
}

export { BUCKET_SEED };

/** How many hash buckets a table of about `rows` rows is compared in (about 2,000 rows per bucket). */
export function bucketCount(rows: number): number {
  return pow2Between(Math.ceil(Math.max(1, rows) / 2000), 64, 1 << 20);
}

export interface BucketDiff {
  readonly rowsSource: number;
  readonly rowsTarget: number;
  /** Buckets whose count or hash differ (as text, for the ANY($2::bigint[]) parameter). */
  readonly bad: readonly string[];
}

/** Count and order-independent row hash per bucket of the key's hash, on both sides; the buckets that disagree. */
export async function bucketDiff(sides: Sides, pe: PairExpr, buckets: number): Promise<BucketDiff> {
  const [s, g] = await both<{ b: string; n: string; h: string }>(
    sides,
    pe,
    (e) => `SELECT (${e.keyBucket as string} & $1::bigint)::text AS b, count(*)::text AS n, sum(${e.rowHash})::text AS h
       FROM ${e.from} GROUP BY 1`,
    [buckets - 1],
  );
  const tmap = new Map(g.map((r) => [r.b, `${r.n}:${r.h}`]));
  const smap = new Map(s.map((r) => [r.b, `${r.n}:${r.h}`]));
  const bad = new Set<string>();
  for (const [b, v] of smap) if (tmap.get(b) !== v) bad.add(b);
  for (const b of tmap.keys()) if (!smap.has(b)) bad.add(b);
  return {
    rowsSource: s.reduce((n, r) => n + Number(r.n), 0),
    rowsTarget: g.reduce((n, r) => n + Number(r.n), 0),
    bad: [...bad].sort(),
  };
}

export interface LeafRow {
  /** ROW(key)::text */
  readonly k: string;
  /** hash of the whole row */
  readonly h: string;
  /** the key's columns as text */
  readonly p: string[];
}

/** Keys and row hashes (never values) of the rows in the given buckets, on both sides. */
export async function leafRows(
  sides: Sides,
  pe: PairExpr,
  buckets: number,
  which: readonly string[],
): Promise<[LeafRow[], LeafRow[]]> {
  return both<{ k: string; h: string; p: string[] }>(
    sides,
    pe,
    (e) => `SELECT ${e.keyText as string} AS k, (${e.rowHash})::text AS h,
            ARRAY[${e.keyColumns.map((c) => `${quoteIdent(c.name)}::text`).join(', ')}] AS p
       FROM ${e.from} WHERE (${e.keyBucket as string} & $1::bigint) = ANY($2::bigint[])`,
    [buckets - 1, which],
  );
}

function describeKey(
  e: TableExpr,
  keyText: string,
  parts: string[],
  showValues: boolean,
): Pick<RowDifference, 'key' | 'keyHash'> {
  const key = (): Record<string, string> =>
    Object.fromEntries(e.keyColumns.map((c, i) => [c.name, parts[i] ?? 'NULL']));
  if (keysArePlain(e)) return { key: key() };
  // --show-values prints the key, and its hash is what the stored report keeps (the same hash as without the flag)
  return showValues ? { key: key(), keyHash: keyHash(keyText) } : { keyHash: keyHash(keyText) };
}

/** Names the columns that differ for the given keys (column hashes cross the wire, never values). */
async function changedColumns(sides: Sides, p: SidePair, keys: string[]): Promise<Map<string, string[]>> {
  const e = p.target;
  const out = new Map<string, string[]>();
  if (keys.length === 0 || !e.keyText) return out;
  const text = (
    x: TableExpr,
  ): string => `SELECT ${x.keyText} AS k, ARRAY[${x.columns.map((c) => `pg_catalog.md5(${quoteIdent(c.name)}::text)`).join(', ')}] AS h
                  FROM ${x.from} WHERE ${x.keyText} = ANY($1::text[])`;
  const [s, t] = await both<{ k: string; h: (string | null)[] }>(sides, p, text, [keys]);
  const target = new Map(t.map((r) => [r.k, r.h]));
  for (const r of s) {
    const th = target.get(r.k);
    if (!th) continue;
    out.set(
      r.k,
      e.columns.filter((_c, i) => r.h[i] !== th[i]).map((c) => c.name),
    );
  }
  return out;
}

/**
 * Order-independent hashes per bucket of the key's hash, computed inside each server (only counts and hashes cross
 * the wire); buckets that disagree are re-read key by key (keys and row hashes only) to name the exact keys that
 * are missing, extra or changed.
 */
async function keyedChecksum(t: TableInfo, p: SidePair, sides: Sides, o: TableCheckOptions): Promise<TableResult> {
  const e = p.target;
  // the whole table's count and sum first: equal (the usual case) ends it without grouping rows into buckets
  const [[ts], [tt]] = await both<{ n: string; h: string }>(
    sides,
    p,
    (x) => `SELECT count(*)::text AS n, coalesce(sum(${x.rowHash}), 0)::text AS h FROM ${x.from}`,
  );
  if (ts && tt && ts.n === tt.n && ts.h === tt.h)
    return {
      table: `${t.schema}.${t.name}`,
      keyed: true,
      rowsSource: Number(ts.n),
      rowsTarget: Number(tt.n),
      checksum: 'match',
      differences: [],
    };
  const buckets = bucketCount(t.estimatedRows);
  const { rowsSource, rowsTarget, bad } = await bucketDiff(sides, p, buckets);
  const base = { table: `${t.schema}.${t.name}`, keyed: true, rowsSource, rowsTarget, buckets };
  if (bad.length === 0) return { ...base, checksum: 'match', differences: [] };

  const max = o.maxDifferences ?? 100;
  // with an updated_at column every differing bucket is read, so that each difference can be explained (or not)
  const leafBuckets = bad.slice(0, o.writtenSince ? 4096 : 64);
  const [sl, tl] = await leafRows(sides, p, buckets, leafBuckets);
  const srcRows = new Map(sl.map((r) => [r.k, r]));
  const tgtRows = new Map(tl.map((r) => [r.k, r]));
  const missingKeys: string[] = [];
  const changedKeys: string[] = [];
  const extraKeys: string[] = [];
  for (const [k, r] of srcRows) {
    const other = tgtRows.get(k);
    if (!other) missingKeys.push(k);
    else if (other.h !== r.h) changedKeys.push(k);
  }
  for (const k of tgtRows.keys()) if (!srcRows.has(k)) extraKeys.push(k);
  const total = missingKeys.length + changedKeys.length + extraKeys.length;
  const since = o.writtenSince
    ? await writtenSince(sides, p.source, o.writtenSince, [...changedKeys, ...missingKeys])
    : undefined;
  const causeOf = (k: string): Pick<RowDifference, 'cause'> =>
    since ? { cause: since.has(k) ? 'changed-since-copy' : 'copy-error' } : {};
  // a key only on the target: its source row was deleted since the copy (a copy cannot invent a key); the final sync deletes it
  const goneCause: Pick<RowDifference, 'cause'> = since ? { cause: 'gone-from-source' } : {};
  const differences: RowDifference[] = [];
  for (const k of missingKeys.slice(0, max))
    differences.push({
      kind: 'missing',
      ...describeKey(e, k, (srcRows.get(k) as LeafRow).p, o.showValues),
      ...causeOf(k),
    });
  for (const k of extraKeys.slice(0, Math.max(0, max - differences.length)))
    differences.push({
      kind: 'extra',
      ...describeKey(e, k, (tgtRows.get(k) as LeafRow).p, o.showValues),
      ...goneCause,
    });
  const changed = changedKeys.slice(0, max);
  const cols = await changedColumns(sides, p, changed);
  for (const k of changed) {
    const r = srcRows.get(k) as LeafRow;
    differences.push({
      kind: 'changed',
      ...describeKey(e, k, r.p, o.showValues),
      columns: cols.get(k) ?? [],
      ...causeOf(k),
    });
  }
  differences.sort((a, b) => (JSON.stringify(a.key ?? a.keyHash) < JSON.stringify(b.key ?? b.keyHash) ? -1 : 1));
  const allBuckets = bad.length <= leafBuckets.length;
  // what writes on the live source since the copy do not explain: a row that differs and was not written since
  const unexplained =
    since && allBuckets ? [...missingKeys, ...changedKeys].filter((k) => !since.has(k)).length : undefined;
  const pending = since && allBuckets ? extraKeys.length : undefined;
  return {
    ...base,
    checksum: 'mismatch',
    differences,
    ...(total > differences.length || !allBuckets ? { truncated: true } : {}),
    ...(unexplained !== undefined && pending !== undefined
      ? { unexplained, changedSinceCopy: total - unexplained - pending, pendingFinalSync: pending }
      : {}),
  };
}

/** The current snapshot's xmax, joined as `pgshift_now` next to the table read as `x`. */
export const NOW_XMAX =
  '(SELECT pg_catalog.txid_snapshot_xmax(pg_catalog.txid_current_snapshot()) AS xmax) pgshift_now';

/**
 * Whether row `x` was written by a transaction at or after the 64-bit snapshot xmin in parameter $n (needs NOW_XMAX
 * in FROM). xmin is the 32-bit xid of the row version's writer: compared modulo 2^32, within the xids since then.
 */
export function writtenSinceXmin(n: number): string {
  return `((pgshift_now.xmax % 4294967296) - (x.xmin::text::bigint) + 4294967296) % 4294967296 <= pgshift_now.xmax - $${n}::bigint`;
}

/**
 * Keys (of the given ones) whose source row was written after the copy began: by xmin, or by the updated_at column.
 * A key the source no longer has was deleted since the keys were read (the live source goes on writing between the
 * reads): written since as well.
 */
async function writtenSince(
  sides: Sides,
  e: TableExpr,
  w: NonNullable<TableCheckOptions['writtenSince']>,
  keys: string[],
): Promise<Set<string>> {
  if (keys.length === 0 || !e.keyText) return new Set();
  let written: { k: string; w: boolean }[];
  if ('xmin' in w) {
    written = (
      await sides.source.query<{ k: string; w: boolean }>(
        `SELECT ${e.keyText} AS k, ${writtenSinceXmin(2)} AS w FROM ${e.from} x, ${NOW_XMAX} WHERE ${e.keyText} = ANY($1::text[])`,
        [keys, w.xmin],
      )
    ).rows;
  } else {
    if (!e.columns.some((c) => c.name === w.column)) return new Set();
    written = (
      await sides.source.query<{ k: string; w: boolean }>(
        `SELECT ${e.keyText} AS k, coalesce(${quoteIdent(w.column)} >= $2, false) AS w FROM ${e.from} WHERE ${e.keyText} = ANY($1::text[])`,
        [keys, w.copyStarted],
      )
    ).rows;
  }
  const present = new Set(written.map((x) => x.k));
  return new Set([...written.filter((x) => x.w).map((x) => x.k), ...keys.filter((k) => !present.has(k))]);
}

/**
 * Tables without a key: a multiset hash of whole rows; on a mismatch, row hashes with their counts (duplicates count).
 * On a live source (writtenSince), each row hash also counts its source rows written since the copy: copies of a row
 * missing on the target that many rows written since account for are explained; rows only on the target (or more
 * copies there) are what a delete or an update of the source since the copy leaves: pending the final sync, which
 * makes the multisets equal. A row copied wrong shows as a missing row not written since: a copy error.
 */
async function keylessChecksum(t: TableInfo, p: SidePair, sides: Sides, o: TableCheckOptions): Promise<TableResult> {
  const e = p.target;
  const [[s], [g]] = await both<{ n: string; h: string | null }>(
    sides,
    p,
    (x) => `SELECT count(*)::text AS n, sum(${x.rowHash})::text AS h FROM ${x.from}`,
  );
  const base = {
    table: `${t.schema}.${t.name}`,
    keyed: false,
    rowsSource: Number(s?.n ?? 0),
    rowsTarget: Number(g?.n ?? 0),
  };
  if (s?.n === g?.n && s?.h === g?.h) return { ...base, checksum: 'match', differences: [] };
  // only the buckets (by whole-row hash) that differ are read row hash by row hash: memory follows the difference
  const whole = { source: byWholeRow(p.source), target: byWholeRow(p.target) };
  const buckets = bucketCount(Math.max(base.rowsSource, base.rowsTarget));
  const { bad } = await bucketDiff(sides, whole, buckets);
  const w = o.writtenSince;
  const inBad = `(${e.rowBucket} & $1::bigint) = ANY($2::bigint[])`;
  const grouped = `SELECT (${e.rowHash})::text AS h, count(*)::text AS n`;
  const smap = new Map<string, { n: number; w: number }>();
  const tmap = new Map<string, number>();
  for (let i = 0; i < bad.length; i += 256) {
    const which = [buckets - 1, bad.slice(i, i + 256)];
    const [sr, tr] = await Promise.all([
      w === undefined
        ? sides.source.query<{ h: string; n: string; w?: string }>(
            `${grouped} FROM ${p.source.from} WHERE ${inBad} GROUP BY 1`,
            which,
          )
        : 'xmin' in w
          ? sides.source.query<{ h: string; n: string; w?: string }>(
              `${grouped}, count(*) FILTER (WHERE ${writtenSinceXmin(3)})::text AS w FROM ${p.source.from} x, ${NOW_XMAX} WHERE ${inBad} GROUP BY 1`,
              [...which, w.xmin],
            )
          : e.columns.some((c) => c.name === w.column)
            ? sides.source.query<{ h: string; n: string; w?: string }>(
                `${grouped}, count(*) FILTER (WHERE ${quoteIdent(w.column)} >= $3)::text AS w FROM ${p.source.from} WHERE ${inBad} GROUP BY 1`,
                [...which, w.copyStarted],
              )
            : sides.source.query<{ h: string; n: string; w?: string }>(
                `${grouped} FROM ${p.source.from} WHERE ${inBad} GROUP BY 1`,
                which,
              ),
      sides.target.query<{ h: string; n: string }>(`${grouped} FROM ${p.target.from} WHERE ${inBad} GROUP BY 1`, which),
    ]);
    for (const r of sr.rows) smap.set(r.h, { n: Number(r.n), w: Number(r.w ?? 0) });
    for (const r of tr.rows) tmap.set(r.h, Number(r.n));
  }
  const live = w !== undefined;
  const differences: RowDifference[] = [];
  let unexplained = 0;
  let explained = 0;
  let pending = 0;
  for (const [h, { n, w: since }] of smap) {
    const m = tmap.get(h) ?? 0;
    if (m < n) {
      const missing = n - m;
      const bySince = live ? Math.min(missing, since) : 0;
      if (bySince > 0) differences.push({ kind: 'missing', rowHash: h, count: bySince, cause: 'changed-since-copy' });
      if (missing > bySince)
        differences.push({
          kind: 'missing',
          rowHash: h,
          count: missing - bySince,
          ...(live ? { cause: 'copy-error' as const } : {}),
        });
      explained += bySince;
      unexplained += missing - bySince;
    }
    if (m > n) {
      differences.push({
        kind: 'duplicate',
        rowHash: h,
        count: m - n,
        ...(live ? { cause: 'gone-from-source' as const } : {}),
      });
      pending += m - n;
    }
  }
  for (const [h, m] of tmap) {
    if (smap.has(h)) continue;
    differences.push({ kind: 'extra', rowHash: h, count: m, ...(live ? { cause: 'gone-from-source' as const } : {}) });
    pending += m;
  }
  const order = (d: RowDifference): string => `${d.rowHash ?? ''}:${d.cause ?? ''}`;
  differences.sort((a, b) => (order(a) < order(b) ? -1 : 1));
  const max = o.maxDifferences ?? 100;
  return {
    ...base,
    checksum: 'mismatch',
    differences: differences.slice(0, max),
    ...(differences.length > max ? { truncated: true } : {}),
    ...(live ? { unexplained, changedSinceCopy: explained, pendingFinalSync: pending } : {}),
  };
}

/** A table without a key is bucketed by the hash of its whole row (its multiset of rows is what must match). */
export function byWholeRow(e: TableExpr): TableExpr {
  return { ...e, keyText: e.rowText, keyBucket: e.rowBucket };
}

/** Row counts only (the cheap check). */
async function counts(t: TableInfo, p: SidePair, sides: Sides): Promise<TableResult> {
  const e = p.target;
  const [[s], [g]] = await both<{ n: string }>(sides, p, (x) => `SELECT count(*)::text AS n FROM ${x.from}`);
  return {
    table: `${t.schema}.${t.name}`,
    keyed: e.keyText !== null,
    rowsSource: Number(s?.n ?? 0),
    rowsTarget: Number(g?.n ?? 0),
    checksum: 'skipped',
    differences: [],
  };
}

/** The expressions of a table on each side (the same columns; the table under each side's name). */
export type SidePair = { readonly source: TableExpr; readonly target: TableExpr };

/** Compares one migrated table, read under its source name on the source and its target name on the target. */
export async function checkTable(pair: TablePair, sides: Sides, o: TableCheckOptions): Promise<TableResult> {
  const key = o.keyOverride ?? pair.key;
  const p: SidePair = pairExprs(pair.source, pair.target, key, o.recordHash ?? true);
  const t = pair.target;
  if (!o.full) return counts(t, p, sides);
  return p.target.keyText ? keyedChecksum(t, p, sides, o) : keylessChecksum(t, p, sides, o);
}
