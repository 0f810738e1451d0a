import type { TableInfo } from '../catalog/types.js';
import { quoteIdent } from '../db/ident.js';
import type { TablePair } from '../mapping/table-pairs.js';
import { keyHash, tableExpr, type TableExpr } from './expressions.js';
import { upperBound95, type RowDifference, type SampleResult } from './report.js';
import type { Sides } from './tables.js';

export interface SamplePolicy {
  readonly percent: number;
  readonly minRows: number;
  readonly maxRows: number;
  readonly seed: number;
}

const SPACE = 1 << 20;

/**
 * The seed picks the keys: a key is sampled when the seeded hash of its text falls under percent of the hash
 * space (so the same seed picks the same keys on every run and machine), at least minRows and at most maxRows
 * of them, in seeded-hash order.
 */
export async function sampleKeys(
  t: TableInfo,
  sides: Sides,
  p: SamplePolicy,
  keyOverride?: readonly string[],
): Promise<string[]> {
  const e = tableExpr(t, keyOverride); // t as the source names it: the keys are picked there
  if (!e.keyText) return [];
  const h = `pg_catalog.hashtextextended(${e.keyText}, $1::bigint)`;
  const threshold = Math.floor((p.percent / 100) * SPACE);
  const picked = await sides.source.query<{ k: string }>(
    `SELECT ${e.keyText} AS k FROM ${e.from} WHERE (${h} & ${SPACE - 1}) < $2 ORDER BY ${h}, 1 LIMIT $3`,
    [p.seed, threshold, p.maxRows],
  );
  if (picked.rows.length >= p.minRows) return picked.rows.map((r) => r.k);
  const more = await sides.source.query<{ k: string }>(
    `SELECT ${e.keyText} AS k FROM ${e.from} ORDER BY ${h}, 1 LIMIT $2`,
    [p.seed, Math.min(p.minRows, p.maxRows)],
  );
  return more.rows.map((r) => r.k);
}

/** Compares the sampled rows column by column (column hashes cross the wire, never values). */
export async function compareSample(
  pair: TablePair,
  sides: Sides,
  p: SamplePolicy,
  keyOverride?: readonly string[],
): Promise<{ result: SampleResult; differences: RowDifference[]; keys: string[] }> {
  const key = keyOverride ?? pair.key;
  const e = tableExpr(pair.target, key);
  const keys = await sampleKeys(pair.source, sides, p, key);
  if (!e.keyText || keys.length === 0)
    return { result: { size: 0, mismatches: 0, upperBound95: null, seed: p.seed }, differences: [], keys };
  const text = (
    x: TableExpr,
  ): string => `SELECT ${x.keyText} AS k, ARRAY[${x.columns.map((c) => `pg_catalog.md5(${quoteIdent(c.name)}::text)`).join(', ')}] AS h
                  FROM ${x.from} WHERE ${x.keyText} = ANY($1::text[])`;
  const [s, g] = await Promise.all([
    sides.source.query<{ k: string; h: (string | null)[] }>(text(tableExpr(pair.source, key)), [keys]),
    sides.target.query<{ k: string; h: (string | null)[] }>(text(e), [keys]),
  ]);
  const target = new Map(g.rows.map((r) => [r.k, r.h]));
  const differences: RowDifference[] = [];
  for (const r of s.rows) {
    const th = target.get(r.k);
    if (!th) differences.push({ kind: 'missing', keyHash: keyHash(r.k) });
    else {
      const cols = e.columns.filter((_c, i) => r.h[i] !== th[i]).map((c) => c.name);
      if (cols.length > 0) differences.push({ kind: 'changed', keyHash: keyHash(r.k), columns: cols });
    }
  }
  return {
    result: {
      size: s.rows.length,
      mismatches: differences.length,
      upperBound95: differences.length === 0 ? upperBound95(s.rows.length) : null,
      seed: p.seed,
    },
    differences,
    keys,
  };
}
