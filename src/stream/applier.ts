/**
 * Turns decoded source changes into statements on the target session (inside the follow loop's transaction):
 * keyed tables as idempotent upserts and deletes by key, keyless tables exactly once (a change its copy already saw
 * is skipped) with updates and deletes of ONE row equal to the old row, TRUNCATE of mapped tables only. Every value is
 * a parameter in text form cast to the target column's type; no value reaches a log line or an error.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { describeServerError } from '../db/server-error.js';
import { qualified, quoteIdent } from '../db/ident.js';
import { PgshiftError } from '../errors/index.js';
import type { PgoutputMessage, TupleValue } from './pgoutput.js';
import { matchRelation, readTargetColumns, type TargetColumn } from './target-table.js';
import { visible, type PgSnapshot } from './visibility.js';

export interface ApplierTable {
  readonly source: { readonly schema: string; readonly name: string };
  readonly target: { readonly schema: string; readonly name: string };
  /** target key columns; null: keyless */
  readonly key: readonly string[] | null;
  /** keyless: the snapshot its copy read (changes visible to it are skipped) */
  readonly snapshot: PgSnapshot | null;
}

/** A unique index of the target table other than the key's: its plain columns (null: on expressions), predicate. */
interface OtherUnique {
  readonly name: string;
  readonly columns: readonly string[] | null;
  readonly predicate: string | null;
}

/**
 * The source's row now, by key (column values as text, in `columns` order), or undefined when the source has no such
 * row any more.
 */
export type SourceRowReader = (
  table: { readonly schema: string; readonly name: string },
  columns: readonly string[],
  key: readonly { readonly column: string; readonly value: string | null }[],
) => Promise<(string | null)[] | undefined>;

interface Relation {
  readonly table: ApplierTable;
  readonly label: string;
  readonly target: string;
  readonly columns: readonly TargetColumn[];
  readonly keyIdx: readonly number[];
  readonly overriding: boolean;
  readonly uniques: readonly OtherUnique[];
}

type Change = Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' | 'truncate' }>;

const param = (i: number, c: TargetColumn): string => `$${i}::${c.type}`;

function equalsValue(c: TargetColumn, i: number): string {
  return c.textEquality
    ? `${quoteIdent(c.name)}::text IS NOT DISTINCT FROM (${param(i, c)})::text`
    : `${quoteIdent(c.name)} IS NOT DISTINCT FROM ${param(i, c)}`;
}

const value = (v: TupleValue | undefined): string | null => (v?.kind === 'text' ? v.text : null);

export class Applier {
  private readonly byName = new Map<string, ApplierTable>();
  private readonly relations = new Map<number, Relation>();
  private readonly types = new Map<number, { schema: string; name: string }>();
  private readonly columnCache = new Map<string, TargetColumn[]>();
  /** rows of a later copy moved out of the way of a replayed change (see `repairing`), per target table */
  readonly repaired = new Map<string, number>();

  constructor(
    private readonly client: pg.ClientBase,
    tables: readonly ApplierTable[],
    private readonly sourceRow?: SourceRowReader,
  ) {
    for (const t of tables) this.byName.set(`${t.source.schema}\u0000${t.source.name}`, t);
  }

  type(m: Extract<PgoutputMessage, { tag: 'type' }>): void {
    this.types.set(m.oid, { schema: m.schema, name: m.name });
  }

  /** A Relation message: checked against the target table (STREAM_SCHEMA_CHANGED when they differ). */
  async relation(m: Extract<PgoutputMessage, { tag: 'relation' }>): Promise<void> {
    const table = this.byName.get(`${m.schema}\u0000${m.name}`);
    if (!table) {
      throw new PgshiftError(
        'STREAM_REFUSED',
        `the stream carries changes of ${m.schema}.${m.name}, a table it does not follow`,
        {
          hint: 'The publication holds a table outside the migration: run `pgshift plan` to see the stream objects.',
        },
      );
    }
    const key = `${table.target.schema}\u0000${table.target.name}`;
    let target = this.columnCache.get(key);
    if (!target) {
      target = await readTargetColumns(this.client, table.target.schema, table.target.name);
      this.columnCache.set(key, target);
    }
    const label = `${table.target.schema}.${table.target.name}`;
    const columns = matchRelation(label, m.columns, target, this.types);
    const keyIdx = (table.key ?? []).map((k) => {
      const i = columns.findIndex((c) => c.name === k);
      if (i < 0) throw new PgshiftError('STREAM_REFUSED', `the key column ${k} of ${label} is not in the stream`);
      return i;
    });
    this.relations.set(m.id, {
      table,
      label,
      target: qualified(table.target.schema, table.target.name),
      columns,
      keyIdx,
      overriding: target.some((c) => c.identityAlways),
      uniques: table.key ? await this.otherUniques(table.target, table.key) : [],
    });
  }

  private async otherUniques(
    t: { readonly schema: string; readonly name: string },
    key: readonly string[],
  ): Promise<OtherUnique[]> {
    const r = await this.client.query<{ name: string; columns: string[] | null; predicate: string | null }>(
      `SELECT ic.relname AS name,
              CASE WHEN i.indexprs IS NULL THEN
                (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                  WHERE k.ord <= i.indnkeyatts) END AS columns,
              pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS predicate
         FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = $1 AND c.relname = $2)
          AND i.indisunique
        ORDER BY 1`,
      [t.schema, t.name],
    );
    const sameAsKey = (cols: string[] | null): boolean =>
      cols !== null && cols.length === key.length && [...cols].sort().join('\0') === [...key].sort().join('\0');
    return r.rows.filter((u) => !(sameAsKey(u.columns) && u.predicate === null));
  }

  private rel(id: number): Relation {
    const r = this.relations.get(id);
    if (!r) throw new PgshiftError('STREAM_PROTOCOL', `a change of relation ${id} came before its Relation message`);
    return r;
  }

  /** Applies one change of the source transaction `xid`; returns whether it was applied (false: skipped). */
  async apply(m: Change, xid: number): Promise<boolean> {
    if (m.tag === 'truncate') return this.truncate(m, xid);
    const r = this.rel(m.relationId);
    // keyless: the change is in the copy exactly when its transaction is visible to the copy's snapshot
    if (r.table.key === null && r.table.snapshot && visible(xid, r.table.snapshot)) return false;
    if (r.table.key === null && !r.table.snapshot) {
      throw new PgshiftError('STREAM_REFUSED', `${r.label} has no key and no recorded copy snapshot`, {
        hint: 'Its changes cannot be applied exactly once: copy the table again with `pgshift apply` (the copy records its snapshot).',
      });
    }
    try {
      if (m.tag === 'insert') await this.insert(r, m.newTuple);
      else if (m.tag === 'update') await (r.table.key ? this.updateKeyed(r, m) : this.updateKeyless(r, m));
      else await (r.table.key ? this.deleteKeyed(r, m.oldTuple) : this.deleteKeyless(r, m));
    } catch (err) {
      if (err instanceof PgshiftError) throw err;
      throw new PgshiftError(
        'STREAM_APPLY_FAILED',
        `applying a source ${m.tag} to ${r.label} failed: ${describeServerError(err)}`,
        {
          hint: 'Nothing past the last committed source transaction was applied or confirmed; fix the target and run again.',
        },
      );
    }
    return true;
  }

  private async run(text: string, values: (string | null)[]): Promise<number> {
    const name = `pgshift_s_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    const res = await this.client.query({ name, text, values });
    return res.rowCount ?? 0;
  }

  /** INSERT (keyed: ON CONFLICT (key) DO UPDATE the sent non-key columns). */
  private async insert(r: Relation, tuple: readonly TupleValue[]): Promise<void> {
    const idx = r.columns.map((_, i) => i).filter((i) => tuple[i]?.kind !== 'unchanged');
    const cols = idx.map((i) => quoteIdent((r.columns[i] as TargetColumn).name)).join(', ');
    const vals = idx.map((i, n) => param(n + 1, r.columns[i] as TargetColumn)).join(', ');
    let text = `INSERT INTO ${r.target} (${cols})${r.overriding ? ' OVERRIDING SYSTEM VALUE' : ''} VALUES (${vals})`;
    if (r.table.key) {
      const set = idx
        .filter((i) => !r.keyIdx.includes(i) && !(r.columns[i] as TargetColumn).identityAlways)
        .map(
          (i) =>
            `${quoteIdent((r.columns[i] as TargetColumn).name)} = EXCLUDED.${quoteIdent((r.columns[i] as TargetColumn).name)}`,
        );
      const conflict = r.keyIdx.map((i) => quoteIdent((r.columns[i] as TargetColumn).name)).join(', ');
      text += ` ON CONFLICT (${conflict}) ${set.length > 0 ? `DO UPDATE SET ${set.join(', ')}` : 'DO NOTHING'}`;
    }
    await this.repairing(r, tuple, () =>
      this.run(
        text,
        idx.map((i) => value(tuple[i])),
      ),
    );
  }

  /**
   * Runs a keyed write; when it violates a unique index other than the key's, the target row holding those values
   * under another key is deleted and the write runs again. Why that is right: the stream replays, in commit order,
   * changes from before the copies' snapshots. The source held the values uniquely when this change committed, so a
   * target row holding them under another key was copied at a later snapshot, and the change that gave it those
   * values on the source comes later in the stream, re-writing that row (and a partial update of a row gone this
   * way re-reads it from the source: `updateKeyed`). The number of such rows is logged per table, never a value.
   */
  private async repairing(r: Relation, tuple: readonly TupleValue[], write: () => Promise<unknown>): Promise<void> {
    if (r.uniques.length === 0) {
      await write();
      return;
    }
    await this.client.query('SAVEPOINT pgshift_unique');
    // one repair per unique index at most: each attempt clears the values of the index the last one violated
    for (let attempt = 0; ; attempt++) {
      try {
        await write();
        break;
      } catch (err) {
        const e = err as { code?: string; constraint?: string };
        const u =
          e.code === '23505' && attempt < r.uniques.length ? r.uniques.find((x) => x.name === e.constraint) : undefined;
        const cols = u?.columns?.map((name) => r.columns.findIndex((c) => c.name === name));
        if (!u || !cols || cols.some((i) => i < 0 || tuple[i]?.kind !== 'text')) throw err;
        await this.client.query('ROLLBACK TO SAVEPOINT pgshift_unique');
        const holds = cols.map(
          (i, n) =>
            `${quoteIdent((r.columns[i] as TargetColumn).name)} = ${param(n + 1, r.columns[i] as TargetColumn)}`,
        );
        const gone = await this.run(
          `DELETE FROM ${r.target} WHERE ${holds.join(' AND ')} AND NOT (${this.keyWhere(r, cols.length + 1)})${u.predicate ? ` AND (${u.predicate})` : ''}`,
          [...cols.map((i) => value(tuple[i])), ...this.keyValues(r, tuple)],
        );
        if (gone === 0) throw err;
        this.repaired.set(r.label, (this.repaired.get(r.label) ?? 0) + gone);
        // keep the repair: the next attempt's rollback goes back to here
        await this.client.query('RELEASE SAVEPOINT pgshift_unique');
        await this.client.query('SAVEPOINT pgshift_unique');
      }
    }
    await this.client.query('RELEASE SAVEPOINT pgshift_unique');
  }

  /** `key1 = $n AND ...` over the key columns, values from `tuple`, parameters from `first`. */
  private keyWhere(r: Relation, first: number): string {
    return r.keyIdx
      .map(
        (i, n) =>
          `${quoteIdent((r.columns[i] as TargetColumn).name)} = ${param(first + n, r.columns[i] as TargetColumn)}`,
      )
      .join(' AND ');
  }

  private keyValues(r: Relation, tuple: readonly TupleValue[]): (string | null)[] {
    return r.keyIdx.map((i) => value(tuple[i]));
  }

  private async updateKeyed(r: Relation, m: Extract<Change, { tag: 'update' }>): Promise<void> {
    const newKey = this.keyValues(r, m.newTuple);
    const oldKey = m.oldTuple ? this.keyValues(r, m.oldTuple) : null;
    const keyChanged = oldKey !== null && oldKey.some((v, i) => v !== newKey[i]);
    const partial = m.newTuple.some((v) => v.kind === 'unchanged');
    if (!partial) {
      if (keyChanged) await this.deleteByKey(r, oldKey);
      return this.insert(r, m.newTuple);
    }
    // an unchanged TOASTed value was not sent: update only the sent columns of the row (absent: its delete follows)
    const sent = r.columns
      .map((_, i) => i)
      .filter((i) => m.newTuple[i]?.kind !== 'unchanged' && !(r.columns[i] as TargetColumn).identityAlways);
    const setCols = sent.filter((i) => keyChanged || !r.keyIdx.includes(i));
    if (keyChanged) {
      // a row already at the new key was copied after this change: it supersedes the old one
      await this.run(
        `DELETE FROM ${r.target} WHERE ${this.keyWhere(r, 1)} AND EXISTS (SELECT FROM ${r.target} WHERE ${this.keyWhere(r, 1 + r.keyIdx.length)})`,
        [...oldKey, ...newKey],
      );
    }
    if (setCols.length === 0) return;
    const set = setCols.map(
      (i, n) => `${quoteIdent((r.columns[i] as TargetColumn).name)} = ${param(n + 1, r.columns[i] as TargetColumn)}`,
    );
    let updated = 0;
    await this.repairing(r, m.newTuple, async () => {
      updated = await this.run(
        `UPDATE ${r.target} SET ${set.join(', ')} WHERE ${this.keyWhere(r, setCols.length + 1)}`,
        [...setCols.map((i) => value(m.newTuple[i])), ...(keyChanged ? oldKey : newKey)],
      );
    });
    if (updated > 0 || r.uniques.length === 0 || !this.sourceRow) return;
    // the row may have made way for a replayed change (`repairing`), and this update does not carry its TOASTed
    // values: the source's row as it is now supersedes it (a later copy of one row); none there: its delete follows
    const names = r.columns.map((c) => c.name);
    const now = await this.sourceRow(
      r.table.source,
      names,
      r.keyIdx.map((i) => ({ column: names[i] as string, value: newKey[r.keyIdx.indexOf(i)] ?? null })),
    );
    if (now)
      await this.insert(
        r,
        now.map((v): TupleValue => (v === null ? { kind: 'null' } : { kind: 'text', text: v })),
      );
  }

  private async deleteByKey(r: Relation, key: (string | null)[]): Promise<void> {
    await this.run(`DELETE FROM ${r.target} WHERE ${this.keyWhere(r, 1)}`, key);
  }

  private async deleteKeyed(r: Relation, oldTuple: readonly TupleValue[]): Promise<void> {
    await this.deleteByKey(r, this.keyValues(r, oldTuple));
  }

  /** `ctid = (SELECT ctid ... WHERE every column IS NOT DISTINCT FROM the old row LIMIT 1)` */
  private oneRow(r: Relation, old: readonly TupleValue[], first: number): { where: string; values: (string | null)[] } {
    const idx = r.columns.map((_, i) => i).filter((i) => old[i]?.kind !== 'unchanged');
    const conds = idx.map((i, n) => equalsValue(r.columns[i] as TargetColumn, first + n));
    return {
      where: `ctid = (SELECT ctid FROM ${r.target} WHERE ${conds.join(' AND ')} LIMIT 1)`,
      values: idx.map((i) => value(old[i])),
    };
  }

  private needOldRow(r: Relation, oldKind: 'K' | 'O' | null, old: readonly TupleValue[] | null): readonly TupleValue[] {
    if (oldKind !== 'O' || !old) {
      throw new PgshiftError(
        'STREAM_REFUSED',
        `an update or delete of ${r.label}, a table without a key, came without its old row`,
        {
          hint: 'Set REPLICA IDENTITY FULL on the source table (the plan shows the statement), then copy it again.',
        },
      );
    }
    return old;
  }

  private async updateKeyless(r: Relation, m: Extract<Change, { tag: 'update' }>): Promise<void> {
    const old = this.needOldRow(r, m.oldKind, m.oldTuple);
    const sent = r.columns
      .map((_, i) => i)
      .filter((i) => m.newTuple[i]?.kind !== 'unchanged' && !(r.columns[i] as TargetColumn).identityAlways);
    if (sent.length === 0) return;
    const set = sent.map(
      (i, n) => `${quoteIdent((r.columns[i] as TargetColumn).name)} = ${param(n + 1, r.columns[i] as TargetColumn)}`,
    );
    const one = this.oneRow(r, old, sent.length + 1);
    await this.run(`UPDATE ${r.target} SET ${set.join(', ')} WHERE ${one.where}`, [
      ...sent.map((i) => value(m.newTuple[i])),
      ...one.values,
    ]);
  }

  private async deleteKeyless(r: Relation, m: Extract<Change, { tag: 'delete' }>): Promise<void> {
    const one = this.oneRow(r, this.needOldRow(r, m.oldKind, m.oldTuple), 1);
    await this.run(`DELETE FROM ${r.target} WHERE ${one.where}`, one.values);
  }

  /** TRUNCATE of the mapped tables; CASCADE only when every table it reaches on the target is followed. */
  private async truncate(m: Extract<Change, { tag: 'truncate' }>, xid: number): Promise<boolean> {
    const rels = m.relationIds.map((id) => this.rel(id));
    // a keyless table whose copy saw the truncate holds the rows written after it: truncating again would lose them
    const todo = rels.filter((r) => !(r.table.key === null && r.table.snapshot && visible(xid, r.table.snapshot)));
    if (todo.length === 0) return false;
    if (m.cascade) {
      const reached = await this.client.query<{ schema: string; name: string }>(
        `WITH RECURSIVE r(oid) AS (
           SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
           UNION SELECT k.conrelid FROM pg_catalog.pg_constraint k JOIN r ON k.confrelid = r.oid WHERE k.contype = 'f')
         SELECT n.nspname AS schema, c.relname AS name FROM r JOIN pg_catalog.pg_class c ON c.oid = r.oid
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`,
        [todo.map((r) => r.table.target.schema), todo.map((r) => r.table.target.name)],
      );
      const followed = new Set([...this.byName.values()].map((t) => `${t.target.schema}.${t.target.name}`));
      const outside = reached.rows.map((t) => `${t.schema}.${t.name}`).filter((t) => !followed.has(t));
      if (outside.length > 0) {
        throw new PgshiftError(
          'STREAM_REFUSED',
          `a TRUNCATE ... CASCADE on the source would also empty ${outside.join(', ')} on the target, which the stream does not follow`,
          {
            hint: 'Empty those tables on the target yourself if that is meant, then run again; the stream stopped before the TRUNCATE.',
          },
        );
      }
    }
    const opts = `${m.restartIdentity ? ' RESTART IDENTITY' : ''}${m.cascade ? ' CASCADE' : ''}`;
    try {
      await this.client.query(`TRUNCATE ${todo.map((r) => r.target).join(', ')}${opts}`);
    } catch (err) {
      throw new PgshiftError(
        'STREAM_APPLY_FAILED',
        `applying a source TRUNCATE of ${todo.map((r) => r.label).join(', ')} failed: ${describeServerError(err)}`,
        {},
      );
    }
    return true;
  }
}
