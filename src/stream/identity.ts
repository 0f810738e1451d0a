/**
 * REPLICA IDENTITY of the source tables in scope. An UPDATE or DELETE streams only when the table has a usable
 * identity (a primary key under identity default, an identity index, or FULL); worse, once a table without one is in a
 * publication that publishes updates, the source refuses the application's UPDATE and DELETE on it. pgshift sets FULL
 * only when the config says so (recording the old identity in the state first) and destroy puts the old one back.
 */
import type pg from 'pg';
import { qualified, quoteIdent } from '../db/ident.js';
import {
  forgetReplicaIdentity,
  readReplicaIdentities,
  recordReplicaIdentity,
  type ReplicaIdentityRow,
} from '../state/stream.js';

export interface TableRef {
  readonly schema: string;
  readonly name: string;
}

export interface IdentityGap extends TableRef {
  /** the in-scope table it belongs to (itself, or the partitioned table whose leaf it is) */
  readonly root: TableRef;
  /** relreplident now: d(efault, without a primary key) or n(othing) */
  readonly identity: 'd' | 'n';
  /** the statement that gives it a usable identity */
  readonly statement: string;
}

export type Identity = ReplicaIdentityRow['oldIdentity'];

const WORD: Record<Identity, string> = { d: 'default', n: 'nothing', f: 'full', i: 'index' };

export function identityWord(identity: Identity): string {
  return WORD[identity];
}

/** ALTER TABLE ... REPLICA IDENTITY <identity> (USING INDEX index for `i`). */
export function identityStatement(t: TableRef, identity: Identity, index: string | null = null): string {
  const what =
    identity === 'i' ? `USING INDEX ${quoteIdent(index ?? '')}` : { d: 'DEFAULT', n: 'NOTHING', f: 'FULL' }[identity];
  return `ALTER TABLE ${qualified(t.schema, t.name)} REPLICA IDENTITY ${what}`;
}

/**
 * The leaf tables under `tables` (a plain table is its own leaf) whose updates and deletes cannot be streamed: identity
 * nothing, or identity default without a primary key. Absent tables are skipped.
 */
export async function tablesLackingIdentity(
  source: pg.ClientBase,
  tables: readonly TableRef[],
): Promise<IdentityGap[]> {
  if (tables.length === 0) return [];
  const r = await source.query<{ rs: string; rn: string; s: string; n: string; ident: 'd' | 'n'; sub: boolean }>(
    `SELECT DISTINCT rn.nspname AS rs, rc.relname AS rn, ln.nspname AS s, lc.relname AS n, lc.relreplident AS ident,
            rc.relispartition AS sub
       FROM unnest($1::text[], $2::text[]) AS t(s, n)
       JOIN pg_catalog.pg_namespace rn ON rn.nspname = t.s
       JOIN pg_catalog.pg_class rc ON rc.relnamespace = rn.oid AND rc.relname = t.n AND rc.relkind IN ('r', 'p')
       -- pg_partition_tree has no row for a plain table: it is its own leaf
       CROSS JOIN LATERAL (SELECT relid FROM pg_catalog.pg_partition_tree(rc.oid) UNION SELECT rc.oid) pt
       JOIN pg_catalog.pg_class lc ON lc.oid = pt.relid AND lc.relkind = 'r'
       JOIN pg_catalog.pg_namespace ln ON ln.oid = lc.relnamespace
      WHERE lc.relreplident = 'n'
         OR (lc.relreplident = 'd' AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i
                                                    WHERE i.indrelid = lc.oid AND i.indisprimary))
      ORDER BY s, n, sub, rs, rn`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  // a leaf under several in-scope tables (a partitioned table and its partition) counts once, under the topmost
  const seen = new Set<string>();
  const rows = r.rows.filter((g) => {
    const k = JSON.stringify([g.s, g.n]);
    return seen.has(k) ? false : (seen.add(k), true);
  });
  return rows.map((g) => ({
    schema: g.s,
    name: g.n,
    root: { schema: g.rs, name: g.rn },
    identity: g.ident,
    statement: identityStatement({ schema: g.s, name: g.n }, 'f'),
  }));
}

async function currentIdentity(
  source: pg.ClientBase,
  t: TableRef,
): Promise<{ identity: Identity; index: string | null } | undefined> {
  const r = await source.query<{ ident: Identity; idx: string | null }>(
    `SELECT c.relreplident AS ident,
            (SELECT ic.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = c.oid AND i.indisreplident) AS idx
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [t.schema, t.name],
  );
  const row = r.rows[0];
  return row ? { identity: row.ident, index: row.idx } : undefined;
}

/**
 * Sets REPLICA IDENTITY FULL on each table, recording its old identity in the state (on the target) BEFORE the change:
 * a crash in between leaves a record of a table that is still as it was, never a changed table nobody remembers.
 */
export async function setReplicaIdentityFull(
  source: pg.ClientBase,
  state: pg.ClientBase,
  tables: readonly TableRef[],
): Promise<void> {
  for (const t of tables) {
    const now = await currentIdentity(source, t);
    if (!now || now.identity === 'f') continue;
    await recordReplicaIdentity(state, {
      schema: t.schema,
      name: t.name,
      oldIdentity: now.identity,
      oldIndex: now.index,
    });
    await source.query(identityStatement(t, 'f'));
  }
}

/** What restoring one table did (for destroy's output). */
export interface RestoredIdentity extends TableRef {
  readonly from: Identity | null;
  readonly to: Identity;
}

/** Puts back every replica identity pgshift set and forgets its record; a table gone from the source is forgotten. */
export async function restoreReplicaIdentities(
  source: pg.ClientBase,
  state: pg.ClientBase,
): Promise<RestoredIdentity[]> {
  const done: RestoredIdentity[] = [];
  for (const row of await readReplicaIdentities(state)) {
    const t = { schema: row.schema, name: row.name };
    const now = await currentIdentity(source, t);
    if (now && now.identity !== row.oldIdentity) {
      // the old identity index may be gone: then the table keeps FULL rather than losing its identity
      const indexGone = row.oldIdentity === 'i' && !(await indexExists(source, t, row.oldIndex));
      if (!indexGone) await source.query(identityStatement(t, row.oldIdentity, row.oldIndex));
      done.push({ ...t, from: now.identity, to: indexGone ? now.identity : row.oldIdentity });
    }
    await forgetReplicaIdentity(state, row.schema, row.name);
  }
  return done;
}

async function indexExists(source: pg.ClientBase, t: TableRef, index: string | null): Promise<boolean> {
  if (index === null) return false;
  const r = await source.query(
    `SELECT FROM pg_catalog.pg_class ic JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
      WHERE n.nspname = $1 AND ic.relname = $2 AND ic.relkind = 'i'`,
    [t.schema, index],
  );
  return (r.rowCount ?? 0) > 0;
}
