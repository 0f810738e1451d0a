import type pg from 'pg';
import { withTransaction } from '../db/connect.js';
import { qualified } from '../db/ident.js';
import type { UnitDigest } from '../state/checkpoints.js';
import { COPY_LOCAL_SQL } from '../db/copy-session.js';
import { digestSql, type DigestRecipe } from './expressions.js';

/** Blocks read per statement of a read-back (128 MiB of 8 KiB pages): progress between them. */
const CHUNK_BLOCKS = 16_384;

export interface ReadBack {
  readonly rows: number;
  readonly sum: string;
}

/**
 * Reads a table back on the target and digests it by the recipe its copy used, under the copy's session settings:
 * every row, in one snapshot, in
 * chunks of heap blocks (a TID range scan each, so `onRows` moves while a large table is read). Only a count and
 * a sum of hashes cross the wire. row_security off: a policy that would hide rows is an error, not a gap.
 */
export async function readBack(
  target: pg.ClientBase,
  table: { readonly schema: string; readonly name: string },
  recipe: DigestRecipe,
  onRows?: (rows: number) => void,
): Promise<ReadBack> {
  const from = `ONLY ${qualified(table.schema, table.name)}`;
  const hash = digestSql(recipe);
  return withTransaction(
    target,
    async () => {
      // the settings the copy hashed under (a column hashed as text renders the same as it did on the source)
      await target.query(`${COPY_LOCAL_SQL}; SET LOCAL row_security = off`);
      const size = await target.query<{ blocks: string; tidrange: boolean }>(
        `SELECT (pg_catalog.pg_relation_size($1::pg_catalog.regclass) / pg_catalog.current_setting('block_size')::pg_catalog.int8)::text AS blocks,
                pg_catalog.current_setting('server_version_num')::pg_catalog.int4 >= 140000 AS tidrange`,
        [qualified(table.schema, table.name)],
      );
      const blocks = Number(size.rows[0]?.blocks ?? 0);
      const chunked = size.rows[0]?.tidrange === true && blocks > CHUNK_BLOCKS;
      let rows = 0;
      let sum = 0n;
      for (let lo = 0; ; lo += CHUNK_BLOCKS) {
        const last = !chunked || lo + CHUNK_BLOCKS >= blocks;
        const where = chunked
          ? ` WHERE ctid >= pg_catalog.format('(%s,0)', $1::pg_catalog.int8)::pg_catalog.tid${last ? '' : ` AND ctid < pg_catalog.format('(%s,0)', $2::pg_catalog.int8)::pg_catalog.tid`}`
          : '';
        const r = await target.query<{ n: string; s: string }>(
          `SELECT count(*)::text AS n, coalesce(sum(${hash}), 0)::text AS s FROM ${from}${where}`,
          chunked ? (last ? [lo] : [lo, lo + CHUNK_BLOCKS]) : [],
        );
        rows += Number(r.rows[0]?.n ?? 0);
        sum += BigInt(r.rows[0]?.s ?? '0');
        onRows?.(rows);
        if (last) break;
      }
      return { rows, sum: sum.toString() };
    },
    'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
  );
}

/** Whether a read-back equals the digest the copy recorded. */
export function matches(d: Pick<UnitDigest, 'rows' | 'sum'>, r: ReadBack): boolean {
  return d.rows === r.rows && BigInt(d.sum) === BigInt(r.sum);
}
