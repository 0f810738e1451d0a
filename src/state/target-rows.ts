/**
 * How many rows a migrated table holds on the target now, for `pgshift status`. A checkpoint's rows_copied is what
 * the copy carried; the catch-up, the final sync, the change stream and (after a cutover) the application change the
 * table after it, so status shows both. A table up to `exactMaxBytes` is counted (count(*), read-only, under a
 * statement timeout); a larger one, or one whose count times out, gets the server's estimate, said to be one.
 */
import type pg from 'pg';
import { qualified } from '../db/ident.js';

export interface TargetRows {
  readonly rows: number;
  /** count(*) when true; else pg_stat_user_tables.n_live_tup (or pg_class.reltuples before any statistics). */
  readonly exact: boolean;
}

export interface TargetRowsOptions {
  /** Tables up to this size (pg_relation_size) are counted exactly. */
  readonly exactMaxBytes?: number;
  /** Per count; past it the estimate is shown. */
  readonly timeoutMs?: number;
}

/** 64 MiB: a count(*) of a table that size is well under a second on a server of today. */
export const EXACT_COUNT_MAX_BYTES = 64 * 1024 * 1024;

const key = (schema: string, name: string): string => `${schema}.${name}`;

/** The target's rows of each table (`schema.name` -> rows), null for a table the target no longer has. */
export async function targetRows(
  client: pg.ClientBase,
  tables: ReadonlyArray<{ readonly schema: string; readonly name: string }>,
  o: TargetRowsOptions = {},
): Promise<Map<string, TargetRows | null>> {
  const out = new Map<string, TargetRows | null>();
  if (tables.length === 0) return out;
  const stats = await client.query<{
    schema: string;
    name: string;
    bytes: string;
    reltuples: number;
    live: string | null;
    leaf: boolean;
  }>(
    `SELECT n.nspname AS schema, c.relname AS name, pg_catalog.pg_relation_size(c.oid)::text AS bytes,
            c.reltuples::float8 AS reltuples, s.n_live_tup::text AS live, c.relkind IN ('r', 'm') AS leaf
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN unnest($1::text[], $2::text[]) AS t(schema, name) ON t.schema = n.nspname AND t.name = c.relname
       LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid
      WHERE c.relkind IN ('r', 'm', 'p')`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  const found = new Map(stats.rows.map((r) => [key(r.schema, r.name), r]));
  const maxBytes = o.exactMaxBytes ?? EXACT_COUNT_MAX_BYTES;
  for (const t of tables) {
    const r = found.get(key(t.schema, t.name));
    if (!r) {
      out.set(key(t.schema, t.name), null);
      continue;
    }
    const exact = r.leaf && Number(r.bytes) <= maxBytes ? await countRows(client, t, o.timeoutMs ?? 5000) : undefined;
    if (exact !== undefined) {
      out.set(key(t.schema, t.name), { rows: exact, exact: true });
      continue;
    }
    // n_live_tup follows every insert and delete since the last analyze; reltuples only moves with an analyze
    const live = r.live === null ? null : Number(r.live);
    const estimate = live !== null && (live > 0 || r.reltuples <= 0) ? live : r.reltuples >= 0 ? r.reltuples : null;
    out.set(key(t.schema, t.name), estimate === null ? null : { rows: Math.round(estimate), exact: false });
  }
  return out;
}

/** count(*) in a read-only transaction; undefined when it takes longer than `timeoutMs`. */
async function countRows(
  client: pg.ClientBase,
  t: { readonly schema: string; readonly name: string },
  timeoutMs: number,
): Promise<number | undefined> {
  await client.query('BEGIN READ ONLY');
  try {
    await client.query(`SELECT pg_catalog.set_config('statement_timeout', $1, true)`, [`${timeoutMs}ms`]);
    const r = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualified(t.schema, t.name)}`);
    return Number(r.rows[0]?.n ?? 0);
  } catch (err) {
    // a statement timeout, or a role that may not read the table: the estimate
    if (['57014', '42501'].includes((err as { code?: string }).code ?? '')) return undefined;
    throw err;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}
