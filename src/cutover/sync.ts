import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { ColumnInfo, TableInfo } from '../catalog/types.js';
import { qualified, quoteIdent } from '../db/ident.js';
import { canHashRecords, pairExprs, VERIFY_SESSION_SQL, type TableExpr } from '../verify/expressions.js';
import { bucketCount, bucketDiff, byWholeRow, leafRows, NOW_XMAX, writtenSinceXmin } from '../verify/tables.js';
import { readSequencePositions, setSequencePosition } from '../catalog/sequence-value.js';
import type { SyncSequence, SyncTable } from './context.js';
import { FREEZE_TRIGGER } from './freeze.js';

/**
 * The final sync: makes `to` hold exactly what `from` holds, table by table, by re-copying only the rows whose
 * key-hash bucket differs (range checksums of the verification engine), deletes included. Used source -> target
 * inside a cutover's write freeze, and target -> source (reversed) by a rollback.
 *
 * Only keys and row hashes cross the wire to find the differences; the rows to write travel from `from` to `to`
 * as text (the servers' own output and input functions), never through a log. Each side names a table its own way
 * (SyncTable: schemas.map renames schemas on the target), so every statement names the table of the side it runs on.
 */

export interface SyncSides {
  readonly from: pg.ClientBase;
  readonly to: pg.ClientBase;
}

export interface TableSync {
  readonly table: string;
  /** Rows written (inserted or updated) on `to`. */
  readonly written: number;
  /** Rows deleted on `to`. */
  readonly deleted: number;
  /** A table without a key whose difference was too large to carry row by row: emptied and copied again whole. */
  readonly recopied: boolean;
  /** How its difference was found: the rows written since the earlier sync (by xmin), or bucket checksums. */
  readonly found: 'written-since' | 'buckets';
}

export interface SyncOptions {
  /** Set on `to` so that its write freeze (if any) lets this session write: the freeze's id. */
  readonly bypassFreeze?: string;
  /** Called between tables: throw to stop (the transaction on `to` rolls back). */
  readonly checkDeadline?: () => void;
  /**
   * `from`'s snapshot xmin (64-bit txid) taken before an earlier full sync of the same tables began: a table with no
   * row written since (by xmin) and the same row count on both sides is unchanged since that sync, and is not
   * compared again (one scan of `from` reading xmin, and two counts, instead of bucket checksums on both sides).
   */
  readonly unchangedSince?: string;
}

/** `from`'s snapshot xmin now: pass it as unchangedSince to a later sync of tables this one is about to sync. */
async function serverVersionNum(c: pg.ClientBase): Promise<number> {
  const r = await c.query<{ v: number }>(
    "SELECT pg_catalog.current_setting('server_version_num')::pg_catalog.int4 AS v",
  );
  return r.rows[0]?.v ?? 0;
}

export async function snapshotXmin(from: pg.ClientBase): Promise<string> {
  const r = await from.query<{ x: string }>(
    'SELECT pg_catalog.txid_snapshot_xmin(pg_catalog.txid_current_snapshot())::text AS x',
  );
  return r.rows[0]?.x ?? '0';
}

const WRITTEN_SINCE = writtenSinceXmin(1);
/** Past this many rows written since, a table is compared by buckets instead. */
const MAX_WRITTEN_KEYS = 100_000;

interface SinceCheck {
  readonly unchanged: boolean;
  /** When the rows written since are all the difference (no row deleted): their keys' parts. */
  readonly written?: string[][];
}

/**
 * What changed in a table since `xmin` (see SyncOptions.unchangedSince): nothing (no row version written since, the
 * same count on both sides); or, for a keyed table, exactly the rows written since (inserted or updated), when the
 * counts prove that no row was deleted: every other source row predates the earlier sync and is already on `to`, so
 * once those rows are written the two sides hold the same keys exactly when |to| + |written not on to| = |from|.
 * Otherwise undefined: compare by buckets.
 */
async function sinceCheck(t: Exprs, sides: SyncSides, xmin: string): Promise<SinceCheck | undefined> {
  const e = t.ef;
  const [a, b] = await Promise.all([
    sides.from.query<{ n: string; written: string }>(
      `SELECT count(*)::text AS n, count(*) FILTER (WHERE ${WRITTEN_SINCE})::text AS written FROM ${e.from} x, ${NOW_XMAX}`,
      [xmin],
    ),
    sides.to.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t.et.from}`),
  ]);
  const nFrom = Number(a.rows[0]?.n ?? 0);
  const nTo = Number(b.rows[0]?.n ?? 0);
  const nWritten = Number(a.rows[0]?.written ?? 0);
  if (nWritten === 0 && nFrom === nTo) return { unchanged: true };
  if (!e.keyText || nWritten === 0 || nWritten > MAX_WRITTEN_KEYS) return undefined;
  const keyParts = e.keyColumns.map((c) => `x.${quoteIdent(c.name)}::text`).join(', ');
  const keys = await sides.from.query<{ p: string[] }>(
    `SELECT ARRAY[${keyParts}] AS p FROM ${e.from} x, ${NOW_XMAX} WHERE ${WRITTEN_SINCE}`,
    [xmin],
  );
  const written = keys.rows.map((r) => r.p);
  const types = await keyTypes(sides.to, t.to, e);
  let present = 0;
  for (let i = 0; i < written.length; i += CHUNK) {
    const chunk = written.slice(i, i + CHUNK);
    const r = await sides.to.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${t.et.from} t WHERE ${keyIn(e, types, 't', 1)}`,
      columnsOf(chunk, e.keyColumns.length),
    );
    present += Number(r.rows[0]?.n ?? 0);
  }
  return nTo + written.length - present === nFrom ? { unchanged: false, written } : undefined;
}

/** A table of the sync with its expressions on each side (the same columns, each side's name for the table). */
interface Exprs {
  readonly from: TableInfo;
  readonly to: TableInfo;
  readonly ef: TableExpr;
  readonly et: TableExpr;
}

interface Pending extends Exprs {
  /** Keyed: key parts of the rows to write. Keyless: whole-row hashes and how many copies `to` lacks. */
  readonly write: string[][];
  /** Keyed: key parts of the rows to delete. Keyless: whole-row hashes and how many copies `to` has too many. */
  readonly remove: string[][];
  readonly recopy: boolean;
  readonly bySince?: boolean;
}

/** Past this share of a keyless table's rows in its difference, the table is copied again whole instead. */
const KEYLESS_RECOPY_SHARE = 0.5;

/** A whole row's hash (what the verification compares rows by). */
const ROW_HASH = (e: TableExpr): string => e.rowHash;

/**
 * Key parts of the rows to write (missing or changed on `to`) and to delete (only on `to`). A table without a key
 * is compared as a multiset of whole rows, bucketed by the row's hash like a key: per differing row hash, how many
 * copies `to` lacks or has too many (duplicates count), so only those rows move.
 */
async function differences(t: Exprs, sides: SyncSides): Promise<Pending | null> {
  const pair = { source: sides.from, target: sides.to };
  const buckets = bucketCount(t.from.estimatedRows);
  if (!t.ef.keyText) {
    const pe = { source: byWholeRow(t.ef), target: byWholeRow(t.et) };
    const diff = await bucketDiff(pair, pe, buckets);
    if (diff.bad.length === 0) return null;
    const write: string[][] = [];
    const remove: string[][] = [];
    for (let i = 0; i < diff.bad.length; i += 256) {
      // row hashes and their counts in these buckets (never the rows)
      const q = (e: TableExpr): string =>
        `SELECT ${ROW_HASH(e)}::text AS h, count(*)::text AS n FROM ${e.from}
          WHERE (${e.rowBucket} & $1::bigint) = ANY($2::bigint[]) GROUP BY 1`;
      const values = [buckets - 1, diff.bad.slice(i, i + 256)];
      const [a, b] = await Promise.all([
        sides.from.query<{ h: string; n: string }>(q(t.ef), values),
        sides.to.query<{ h: string; n: string }>(q(t.et), values),
      ]);
      const onFrom = new Map(a.rows.map((r) => [r.h, Number(r.n)]));
      const onTo = new Map(b.rows.map((r) => [r.h, Number(r.n)]));
      for (const [h, n] of onFrom) if (n > (onTo.get(h) ?? 0)) write.push([h, String(n - (onTo.get(h) ?? 0))]);
      for (const [h, n] of onTo) if (n > (onFrom.get(h) ?? 0)) remove.push([h, String(n - (onFrom.get(h) ?? 0))]);
    }
    const moved = [...write, ...remove].reduce((n, [, c]) => n + Number(c), 0);
    const recopy = moved > Math.max(diff.rowsSource, diff.rowsTarget) * KEYLESS_RECOPY_SHARE;
    return { ...t, write: recopy ? [] : write, remove: recopy ? [] : remove, recopy };
  }
  const diff = await bucketDiff(pair, { source: t.ef, target: t.et }, buckets);
  if (diff.bad.length === 0) return null;
  const write: string[][] = [];
  const remove: string[][] = [];
  for (let i = 0; i < diff.bad.length; i += 256) {
    const [fromRows, toRows] = await leafRows(
      pair,
      { source: t.ef, target: t.et },
      buckets,
      diff.bad.slice(i, i + 256),
    );
    const onTo = new Map(toRows.map((r) => [r.k, r.h]));
    const onFrom = new Set(fromRows.map((r) => r.k));
    for (const r of fromRows) if (onTo.get(r.k) !== r.h) write.push(r.p);
    for (const r of toRows) if (!onFrom.has(r.k)) remove.push(r.p);
  }
  return write.length + remove.length > 0 ? { ...t, write, remove, recopy: false } : null;
}

const RAW_TEXT = {
  getTypeParser:
    () =>
    (v: string): string =>
      v,
};

/** One value in COPY's text format. */
function copyField(v: string | null): string {
  if (v === null) return '\\N';
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}

/** The columns a sync writes: not the stored generated ones (the server computes them). */
function writable(e: TableExpr): ColumnInfo[] {
  return e.columns.filter((c) => c.generated === null);
}

/** Key column types as the given side names them (an extension type may live in another schema there). */
async function keyTypes(client: pg.ClientBase, t: TableInfo, e: TableExpr): Promise<string[]> {
  const r = await client.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = $1::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped`,
    [qualified(t.schema, t.name)],
  );
  const byName = new Map(r.rows.map((x) => [x.name, x.type]));
  return e.keyColumns.map((c) => byName.get(c.name) ?? c.type);
}

/**
 * `(k1, k2) IN (SELECT * FROM ROWS FROM (unnest($1::text[]::t1[]), unnest($2::text[]::t2[])))`: key values travel
 * as parameters, cast to the key types as this side names them (index-usable).
 */
function keyIn(e: TableExpr, types: readonly string[], alias: string, first: number): string {
  const cols = e.keyColumns.map((c) => `${alias}.${quoteIdent(c.name)}`).join(', ');
  const arrays = types.map((type, i) => `pg_catalog.unnest($${first + i}::pg_catalog.text[]::${type}[])`).join(', ');
  return `(${cols}) IN (SELECT * FROM ROWS FROM (${arrays}))`;
}

function columnsOf(parts: readonly string[][], n: number): string[][] {
  return Array.from({ length: n }, (_v, i) => parts.map((p) => p[i] as string));
}

const CHUNK = 5000;

/**
 * Writes the given keys' rows from `from` into `to` through a temporary staging table shaped like `to`'s table:
 * rows `to` lacks are inserted first, then rows that differ are updated (a new row another one starts to reference
 * is there by then).
 */
async function writeRows(p: Pending, sides: SyncSides): Promise<number> {
  const cols = writable(p.ef);
  const source = qualified(p.from.schema, p.from.name);
  const table = qualified(p.to.schema, p.to.name);
  const list = cols.map((c) => quoteIdent(c.name)).join(', ');
  const keyNames = new Set(p.ef.keyColumns.map((c) => c.name));
  const fromTypes = await keyTypes(sides.from, p.from, p.ef);
  await sides.to.query('DROP TABLE IF EXISTS pg_temp.pgshift_sync_stage');
  await sides.to.query(
    `CREATE TEMPORARY TABLE pgshift_sync_stage ON COMMIT DROP AS SELECT ${list} FROM ONLY ${table} WITH NO DATA`,
  );
  for (let i = 0; i < p.write.length; i += CHUNK) {
    const chunk = p.write.slice(i, i + CHUNK);
    await carry(
      sides,
      {
        text: `SELECT ${cols.map((c) => `s.${quoteIdent(c.name)}`).join(', ')} FROM ONLY ${source} s WHERE ${keyIn(p.ef, fromTypes, 's', 1)}`,
        values: columnsOf(chunk, p.ef.keyColumns.length),
      },
      `pg_temp.pgshift_sync_stage (${list})`,
    );
  }
  const match = p.ef.keyColumns.map((c) => `t.${quoteIdent(c.name)} = s.${quoteIdent(c.name)}`).join(' AND ');
  const settable = cols.filter((c) => !keyNames.has(c.name) && c.identity !== 'always');
  let n = 0;
  const ins = await sides.to.query(
    `INSERT INTO ${table} (${list}) OVERRIDING SYSTEM VALUE
     SELECT ${cols.map((c) => `s.${quoteIdent(c.name)}`).join(', ')} FROM pg_temp.pgshift_sync_stage s
      WHERE NOT EXISTS (SELECT 1 FROM ONLY ${table} t WHERE ${match})`,
  );
  n += ins.rowCount ?? 0;
  if (settable.length > 0) {
    const u = await sides.to.query(
      `UPDATE ONLY ${table} t SET ${settable.map((c) => `${quoteIdent(c.name)} = s.${quoteIdent(c.name)}`).join(', ')}
         FROM pg_temp.pgshift_sync_stage s WHERE ${match} AND ROW(${settable.map((c) => `t.${quoteIdent(c.name)}`).join(', ')}) IS DISTINCT FROM ROW(${settable.map((c) => `s.${quoteIdent(c.name)}`).join(', ')})`,
    );
    n += u.rowCount ?? 0;
  }
  await sides.to.query('DROP TABLE pg_temp.pgshift_sync_stage');
  return n;
}

/** Reads rows from `from` as text (the server's output functions) and COPYs them into `into` on `to`. */
async function carry(sides: SyncSides, read: { text: string; values: unknown[] }, into: string): Promise<number> {
  const r = await sides.from.query({ ...read, rowMode: 'array', types: RAW_TEXT });
  if (r.rows.length === 0) return 0;
  const lines = (r.rows as (string | null)[][]).map((row) => `${row.map(copyField).join('\t')}\n`).join('');
  await pipeline(
    (async function* () {
      yield Buffer.from(lines, 'utf8');
    })(),
    sides.to.query(copyFrom(`COPY ${into} FROM STDIN`)),
  );
  return r.rows.length;
}

/**
 * `(hash, copies)` pairs as two parameters, and the rows of a keyless table that carry them: the first `copies` rows
 * of each whole-row hash (which copy of identical rows is taken does not matter).
 */
function copiesOf(e: TableExpr, what: string, first: number): string {
  return `SELECT ${what} FROM (SELECT x.ctid AS pgshift_ctid, x.*, ${ROW_HASH(e)} AS pgshift_h, pg_catalog.row_number() OVER (PARTITION BY ${ROW_HASH(e)}) AS pgshift_n
       FROM ${e.from} x WHERE ${ROW_HASH(e)} = ANY($${first}::bigint[])) r
     JOIN ROWS FROM (pg_catalog.unnest($${first}::bigint[]), pg_catalog.unnest($${first + 1}::bigint[])) AS w(h, n) ON w.h = r.pgshift_h WHERE r.pgshift_n <= w.n`;
}

/** A keyless table: the missing copies of rows are carried from `from`, then the surplus ones are deleted on `to`. */
async function moveKeylessRows(p: Pending, sides: SyncSides): Promise<number> {
  const list = writable(p.ef)
    .map((c) => quoteIdent(c.name))
    .join(', ');
  let n = 0;
  for (let i = 0; i < p.write.length; i += CHUNK) {
    const chunk = p.write.slice(i, i + CHUNK);
    n += await carry(
      sides,
      { text: copiesOf(p.ef, list, 1), values: columnsOf(chunk, 2) },
      `${qualified(p.to.schema, p.to.name)} (${list})`,
    );
  }
  return n;
}

async function deleteRows(p: Pending, to: pg.ClientBase): Promise<number> {
  const table = qualified(p.to.schema, p.to.name);
  let n = 0;
  if (!p.et.keyText) {
    for (let i = 0; i < p.remove.length; i += CHUNK) {
      const chunk = p.remove.slice(i, i + CHUNK);
      const r = await to.query(
        `DELETE FROM ONLY ${table} WHERE ctid = ANY (ARRAY(${copiesOf(p.et, 'r.pgshift_ctid', 1)}))`,
        columnsOf(chunk, 2),
      );
      n += r.rowCount ?? 0;
    }
    return n;
  }
  const types = await keyTypes(to, p.to, p.et);
  for (let i = 0; i < p.remove.length; i += CHUNK) {
    const chunk = p.remove.slice(i, i + CHUNK);
    const r = await to.query(
      `DELETE FROM ONLY ${table} t WHERE ${keyIn(p.et, types, 't', 1)}`,
      columnsOf(chunk, p.et.keyColumns.length),
    );
    n += r.rowCount ?? 0;
  }
  return n;
}

/** A table without a key: emptied on `to` and copied again as a whole (one COPY, in the sync's transaction). */
async function recopy(p: Pending, sides: SyncSides): Promise<{ written: number; deleted: number }> {
  const list = writable(p.ef)
    .map((c) => quoteIdent(c.name))
    .join(', ');
  const gone = await sides.to.query(`DELETE FROM ${p.et.from}`);
  const out = (sides.from as pg.Client).query(copyTo(`COPY (SELECT ${list} FROM ${p.ef.from}) TO STDOUT`));
  const into = (sides.to as pg.Client).query(
    copyFrom(`COPY ${qualified(p.to.schema, p.to.name)} (${list}) FROM STDIN`),
  );
  await pipeline(out, into);
  return { written: Number((into as unknown as { rowCount: number }).rowCount ?? 0), deleted: gone.rowCount ?? 0 };
}

/** Parents before children, by the foreign keys between the given tables on `to` (a cycle keeps catalog order). */
async function parentsFirst(to: pg.ClientBase, tables: readonly Pending[]): Promise<Pending[]> {
  const r = await to.query<{ cs: string; cn: string; ps: string; pn: string }>(
    `SELECT DISTINCT cn.nspname AS cs, cc.relname AS cn, pn.nspname AS ps, pc.relname AS pn
       FROM pg_catalog.pg_constraint c
       JOIN pg_catalog.pg_class cc ON cc.oid = c.conrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = cc.relnamespace
       JOIN pg_catalog.pg_class pc ON pc.oid = c.confrelid JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
      WHERE c.contype = 'f' AND c.conrelid <> c.confrelid`,
  );
  const name = (p: Pending): string => qualified(p.to.schema, p.to.name);
  const parents = new Map<string, Set<string>>();
  for (const x of r.rows) {
    const child = qualified(x.cs, x.cn);
    parents.set(child, (parents.get(child) ?? new Set()).add(qualified(x.ps, x.pn)));
  }
  const byName = new Map(tables.map((p) => [name(p), p]));
  const out: Pending[] = [];
  const seen = new Set<string>();
  const visit = (p: Pending, path: Set<string>): void => {
    const n = name(p);
    if (seen.has(n) || path.has(n)) return;
    path.add(n);
    for (const parent of parents.get(n) ?? []) {
      const q = byName.get(parent);
      if (q) visit(q, path);
    }
    path.delete(n);
    seen.add(n);
    out.push(p);
  };
  for (const p of tables) visit(p, new Set());
  return out;
}

/**
 * User triggers that are enabled on the table, including a partition's clones of its parent's triggers (not
 * pgshift's freeze): disabled while the sync writes, then restored.
 */
async function enabledUserTriggers(to: pg.ClientBase, t: TableInfo): Promise<Array<{ name: string; enabled: string }>> {
  const r = await to.query<{ name: string; enabled: string }>(
    `SELECT tgname AS name, tgenabled::text AS enabled FROM pg_catalog.pg_trigger
      WHERE tgrelid = $1::pg_catalog.regclass AND NOT tgisinternal AND tgenabled <> 'D' AND tgname <> $2`,
    [qualified(t.schema, t.name), FREEZE_TRIGGER],
  );
  return r.rows;
}

const RESTORE: Record<string, string> = { O: 'ENABLE', A: 'ENABLE ALWAYS', R: 'ENABLE REPLICA' };

/**
 * Finds and writes every difference between `from` and `to` for the given tables, in ONE transaction on `to`
 * (all or nothing). User triggers on the written tables are held off so that the rows land as they are.
 */
export async function syncTables(
  tables: readonly SyncTable[],
  sides: SyncSides,
  o: SyncOptions = {},
): Promise<TableSync[]> {
  // row_security off: a policy that would hide rows from the sync (FORCE ROW LEVEL SECURITY) is an error, not a silent gap
  await Promise.all([
    sides.from.query(`${VERIFY_SESSION_SQL}; SET row_security = off`),
    sides.to.query(`${VERIFY_SESSION_SQL}; SET row_security = off`),
  ]);
  const recordHash = canHashRecords(...(await Promise.all([serverVersionNum(sides.from), serverVersionNum(sides.to)])));
  const pending: Pending[] = [];
  for (const st of tables) {
    o.checkDeadline?.();
    const ex = pairExprs(st.from, st.to, st.key, recordHash);
    const t: Exprs = { from: st.from, to: st.to, ef: ex.source, et: ex.target };
    if (o.unchangedSince) {
      const since = await sinceCheck(t, sides, o.unchangedSince);
      if (since?.unchanged) continue;
      if (since?.written) {
        pending.push({ ...t, write: since.written, remove: [], recopy: false, bySince: true });
        continue;
      }
    }
    const p = await differences(t, sides);
    if (p) pending.push(p);
  }
  const results = new Map<Pending, TableSync>();
  if (pending.length > 0) {
    await sides.to.query('BEGIN');
    try {
      if (o.bypassFreeze)
        await sides.to.query("SELECT pg_catalog.set_config('pgshift.freeze_bypass', $1, true)", [o.bypassFreeze]);
      const ordered = await parentsFirst(sides.to, pending);
      const held = new Map<Pending, Array<{ name: string; enabled: string }>>();
      for (const p of ordered) {
        const list = await enabledUserTriggers(sides.to, p.to);
        for (const tr of list)
          await sides.to.query(
            `ALTER TABLE ${qualified(p.to.schema, p.to.name)} DISABLE TRIGGER ${quoteIdent(tr.name)}`,
          );
        held.set(p, list);
      }
      // deletes first, children before parents (a unique value or a key freed by a delete may be taken again),
      // then inserts and updates, parents before children
      const deleted = new Map<Pending, number>();
      for (const p of [...ordered].reverse()) {
        o.checkDeadline?.();
        deleted.set(p, p.remove.length > 0 ? await deleteRows(p, sides.to) : 0);
      }
      for (const p of ordered) {
        o.checkDeadline?.();
        const again = p.recopy ? await recopy(p, sides) : undefined;
        const written = again
          ? again.written
          : p.write.length === 0
            ? 0
            : p.ef.keyText
              ? await writeRows(p, sides)
              : await moveKeylessRows(p, sides);
        results.set(p, {
          table: `${p.to.schema}.${p.to.name}`,
          written,
          deleted: (deleted.get(p) ?? 0) + (again?.deleted ?? 0),
          recopied: p.recopy,
          found: p.bySince ? 'written-since' : 'buckets',
        });
      }
      for (const [p, list] of held) {
        for (const tr of list)
          await sides.to.query(
            `ALTER TABLE ${qualified(p.to.schema, p.to.name)} ${RESTORE[tr.enabled] ?? 'ENABLE'} TRIGGER ${quoteIdent(tr.name)}`,
          );
      }
      await sides.to.query('COMMIT');
    } catch (err) {
      await sides.to.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
  return pending.map((p) => results.get(p) as TableSync);
}

/** Sets every given sequence on `to` to `from`'s last_value and is_called. Returns how many were set. */
export async function syncSequences(sequences: readonly SyncSequence[], sides: SyncSides): Promise<number> {
  const read = await readSequencePositions(
    sides.from,
    sequences.map((q) => q.from),
  );
  let set = 0;
  for (const [i, pos] of read.entries()) {
    if (!pos) continue;
    await setSequencePosition(sides.to, (sequences[i] as SyncSequence).to, pos);
    set++;
  }
  return set;
}
