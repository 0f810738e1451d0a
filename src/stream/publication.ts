/**
 * The publications of the change stream on the source: one publishing everything of the tables with a usable replica
 * identity, and (only when some table needs it) one publishing only inserts and truncates of the tables without one:
 * once a table without replica identity is in a publication that publishes updates, the source refuses the
 * application's UPDATE and DELETE on it.
 *
 * Adding a table to a publication locks it (SHARE ROW EXCLUSIVE on PostgreSQL 15), which conflicts with the
 * application's writes. Tables are therefore added ONE PER STATEMENT (or per short transaction): pgshift never holds
 * the lock of one table while it waits for another's, so it can never deadlock the application (a transaction writing
 * two tables in the other order would otherwise be the one the server kills).
 */
import type pg from 'pg';
import { qualified, quoteIdent } from '../db/ident.js';
import type { StreamNames } from './names.js';

export interface PublishedTable {
  readonly schema: string;
  readonly name: string;
  readonly mode: 'all' | 'inserts';
}

type Mode = PublishedTable['mode'];

const OPTIONS: Record<Mode, string> = {
  all: `publish = 'insert, update, delete, truncate', publish_via_partition_root = true`,
  inserts: `publish = 'insert, truncate', publish_via_partition_root = true`,
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const key = (t: { schema: string; name: string }): string => JSON.stringify([t.schema, t.name]);

/** Runs `fn` again after a lock timeout or a deadlock (the application's transaction wins; pgshift waits and retries). */
async function retryingLocks<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code !== '55P03' && code !== '40P01') || attempt >= 20) throw err;
      await sleep(Math.min(2000, 50 * 2 ** attempt));
    }
  }
}

export async function publicationExists(source: pg.ClientBase, name: string): Promise<boolean> {
  const r = await source.query('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [name]);
  return (r.rowCount ?? 0) > 0;
}

/** The tables of a publication now. */
async function membersOf(source: pg.ClientBase, name: string): Promise<Array<{ schema: string; name: string }>> {
  const r = await source.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid
       JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE p.pubname = $1`,
    [name],
  );
  return r.rows;
}

/** CREATE PUBLICATION name WITH (...), then its tables one statement each. */
export async function createPublication(
  source: pg.ClientBase,
  name: string,
  mode: Mode,
  tables: readonly PublishedTable[],
): Promise<void> {
  await source.query(`CREATE PUBLICATION ${quoteIdent(name)} WITH (${OPTIONS[mode]})`);
  // ONLY: an inheritance parent does not bring its children (each in scope is listed itself); a partitioned table
  // always covers its partitions
  const once = [...new Map(tables.map((t) => [key(t), t])).values()];
  for (const t of once)
    await retryingLocks(() =>
      source.query(`ALTER PUBLICATION ${quoteIdent(name)} ADD TABLE ONLY ${qualified(t.schema, t.name)}`),
    );
}

/**
 * Alters the publications' table lists to exactly these tables (a table added to scope later). Each table changes in
 * a transaction of its own (a table moving between the two publications is never in both, nor in none). The
 * inserts-only publication is created when a table needs it; an existing one is kept (maybe empty): a running stream
 * names it.
 */
export async function setPublishedTables(
  source: pg.ClientBase,
  names: StreamNames,
  tables: readonly PublishedTable[],
): Promise<void> {
  const pubs: Record<Mode, string> = { all: names.publication, inserts: names.insertsPublication };
  for (const mode of ['all', 'inserts'] as const) {
    const needed = mode === 'all' || tables.some((t) => t.mode === 'inserts');
    if (needed && !(await publicationExists(source, pubs[mode]))) await createPublication(source, pubs[mode], mode, []);
    else if (await publicationExists(source, pubs[mode]))
      await source.query(`ALTER PUBLICATION ${quoteIdent(pubs[mode])} SET (${OPTIONS[mode]})`);
  }
  const now = new Map<string, { table: { schema: string; name: string }; modes: Set<Mode> }>();
  for (const mode of ['all', 'inserts'] as const)
    for (const t of await membersOf(source, pubs[mode])) {
      const e = now.get(key(t)) ?? { table: t, modes: new Set<Mode>() };
      e.modes.add(mode);
      now.set(key(t), e);
    }
  const wanted = new Map(tables.map((t) => [key(t), t]));
  const all = new Map([...now].map(([k, e]) => [k, e.table] as const));
  for (const [k, t] of wanted) all.set(k, t);
  for (const [k, table] of all) {
    const has = now.get(k)?.modes ?? new Set<Mode>();
    const want = wanted.get(k)?.mode;
    const statements: string[] = [];
    for (const mode of ['all', 'inserts'] as const) {
      const q = `ALTER PUBLICATION ${quoteIdent(pubs[mode])}`;
      if (has.has(mode) && want !== mode)
        statements.push(`${q} DROP TABLE ONLY ${qualified(table.schema, table.name)}`);
      if (!has.has(mode) && want === mode)
        statements.push(`${q} ADD TABLE ONLY ${qualified(table.schema, table.name)}`);
    }
    if (statements.length === 0) continue;
    await retryingLocks(async () => {
      await source.query('BEGIN');
      try {
        for (const s of statements) await source.query(s);
        await source.query('COMMIT');
      } catch (err) {
        await source.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }
}

/** Drops the publications of these names; returns those that existed. */
export async function dropPublications(source: pg.ClientBase, names: StreamNames): Promise<string[]> {
  const dropped: string[] = [];
  for (const name of [names.publication, names.insertsPublication]) {
    if (!(await publicationExists(source, name))) continue;
    await retryingLocks(() => source.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(name)}`));
    dropped.push(name);
  }
  return dropped;
}
