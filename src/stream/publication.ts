/**
 * The publications of the change stream on the source: one publishing everything of the tables with a usable replica
 * identity, and (only when some table needs it) one publishing only inserts and truncates of the tables without one:
 * once a table without replica identity is in a publication that publishes updates, the source refuses the
 * application's UPDATE and DELETE on it.
 */
import type pg from 'pg';
import { qualified, quoteIdent } from '../db/ident.js';
import type { StreamNames } from './names.js';

export interface PublishedTable {
  readonly schema: string;
  readonly name: string;
  readonly mode: 'all' | 'inserts';
}

const OPTIONS: Record<PublishedTable['mode'], string> = {
  all: `publish = 'insert, update, delete, truncate', publish_via_partition_root = true`,
  inserts: `publish = 'insert, truncate', publish_via_partition_root = true`,
};

function tableList(tables: readonly PublishedTable[]): string {
  return tables.map((t) => qualified(t.schema, t.name)).join(', ');
}

export async function publicationExists(source: pg.ClientBase, name: string): Promise<boolean> {
  const r = await source.query('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [name]);
  return (r.rowCount ?? 0) > 0;
}

/** CREATE PUBLICATION name [FOR TABLE ...] WITH (...): an empty list makes a publication of no table. */
export async function createPublication(
  source: pg.ClientBase,
  name: string,
  mode: PublishedTable['mode'],
  tables: readonly PublishedTable[],
): Promise<void> {
  const forTables = tables.length > 0 ? ` FOR TABLE ${tableList(tables)}` : '';
  await source.query(`CREATE PUBLICATION ${quoteIdent(name)}${forTables} WITH (${OPTIONS[mode]})`);
}

/** The publication's table list becomes exactly `tables` (created when it does not exist). */
async function setTables(
  source: pg.ClientBase,
  name: string,
  mode: PublishedTable['mode'],
  tables: readonly PublishedTable[],
): Promise<void> {
  if (!(await publicationExists(source, name))) return createPublication(source, name, mode, tables);
  await source.query(`ALTER PUBLICATION ${quoteIdent(name)} SET (${OPTIONS[mode]})`);
  if (tables.length > 0) {
    await source.query(`ALTER PUBLICATION ${quoteIdent(name)} SET TABLE ${tableList(tables)}`);
    return;
  }
  // SET TABLE needs at least one table: drop the ones it has
  const r = await source.query<{ schemaname: string; tablename: string }>(
    `SELECT n.nspname AS schemaname, c.relname AS tablename
       FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid
       JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE p.pubname = $1`,
    [name],
  );
  if (r.rows.length === 0) return;
  const list = r.rows.map((t) => qualified(t.schemaname, t.tablename)).join(', ');
  await source.query(`ALTER PUBLICATION ${quoteIdent(name)} DROP TABLE ${list}`);
}

/**
 * Alters the publications' table lists to exactly these tables (a table added to scope later). The inserts-only
 * publication is created when a table needs it and it does not exist yet; an existing one is kept (maybe empty):
 * a running stream names it.
 */
export async function setPublishedTables(
  source: pg.ClientBase,
  names: StreamNames,
  tables: readonly PublishedTable[],
): Promise<void> {
  const all = tables.filter((t) => t.mode === 'all');
  const inserts = tables.filter((t) => t.mode === 'inserts');
  await source.query('BEGIN');
  try {
    // one transaction: a table moving between the two publications is never in both nor in none
    if (inserts.length > 0 || (await publicationExists(source, names.insertsPublication)))
      await setTables(source, names.insertsPublication, 'inserts', inserts);
    await setTables(source, names.publication, 'all', all);
    await source.query('COMMIT');
  } catch (err) {
    await source.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Drops the publications of these names; returns those that existed. */
export async function dropPublications(source: pg.ClientBase, names: StreamNames): Promise<string[]> {
  const dropped: string[] = [];
  for (const name of [names.publication, names.insertsPublication]) {
    if (!(await publicationExists(source, name))) continue;
    await source.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(name)}`);
    dropped.push(name);
  }
  return dropped;
}
