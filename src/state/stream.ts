/**
 * pgshift.stream and pgshift.replica_identity: the change stream's slot, where its applier stands, and the source
 * tables whose REPLICA IDENTITY pgshift changed. Every write of these tables goes through here.
 */
import { sql } from 'kysely';
import type pg from 'pg';
import { stateDb, type StreamStatus } from './db.js';

export interface StreamRow {
  readonly slot: string;
  readonly publication: string;
  readonly insertsPublication: string | null;
  readonly consistentLsn: string;
  readonly createdAt: Date;
  readonly appliedLsn: string | null;
  readonly sourceCommitAt: Date | null;
  readonly appliedAt: Date | null;
  readonly transactions: number;
  readonly changes: number;
  readonly status: StreamStatus;
  readonly error: string | null;
}

/** True once migration 0006 has run (status and plan read the state of older targets too). */
async function hasStreamTable(client: pg.ClientBase): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>(`SELECT to_regclass('pgshift.stream') IS NOT NULL AS ok`);
  return r.rows[0]?.ok === true;
}

/** Records a slot pgshift created on the source (or re-created: the old row is replaced). */
export async function recordStream(
  client: pg.ClientBase,
  s: {
    readonly slot: string;
    readonly publication: string;
    readonly insertsPublication: string | null;
    readonly consistentLsn: string;
    readonly runId: string | null;
  },
): Promise<void> {
  await stateDb(client)
    .insertInto('pgshift.stream')
    .values({
      slot: s.slot,
      publication: s.publication,
      inserts_publication: s.insertsPublication,
      consistent_lsn: s.consistentLsn,
      created_by_run: s.runId,
    })
    .onConflict((oc) =>
      oc.column('slot').doUpdateSet({
        publication: s.publication,
        inserts_publication: s.insertsPublication,
        consistent_lsn: s.consistentLsn,
        created_by_run: s.runId,
        created_at: sql<Date>`clock_timestamp()`,
        applied_lsn: null,
        source_commit_at: null,
        applied_at: null,
        transactions: 0,
        changes: 0,
        status: 'created',
        error: null,
        updated_at: sql<Date>`clock_timestamp()`,
      }),
    )
    .execute();
}

/** The stream rows (normally one), oldest first; empty before migration 0006 or without a stream. */
export async function readStreams(client: pg.ClientBase): Promise<StreamRow[]> {
  if (!(await hasStreamTable(client))) return [];
  const rows = await stateDb(client)
    .selectFrom('pgshift.stream')
    .select([
      'slot',
      'publication',
      'inserts_publication',
      sql<string>`consistent_lsn::text`.as('consistent_lsn'),
      'created_at',
      sql<string | null>`applied_lsn::text`.as('applied_lsn'),
      'source_commit_at',
      'applied_at',
      'transactions',
      'changes',
      'status',
      'error',
    ])
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({
    slot: r.slot,
    publication: r.publication,
    insertsPublication: r.inserts_publication,
    consistentLsn: r.consistent_lsn,
    createdAt: r.created_at,
    appliedLsn: r.applied_lsn,
    sourceCommitAt: r.source_commit_at,
    appliedAt: r.applied_at,
    transactions: Number(r.transactions),
    changes: Number(r.changes),
    status: r.status,
    error: r.error,
  }));
}

/**
 * Reads the applied position FOR UPDATE, in the caller's transaction: the applier holds the row while it applies,
 * so two appliers can never commit the same source transaction.
 */
export async function lockAppliedPosition(client: pg.ClientBase, slot: string): Promise<string | null | undefined> {
  const r = await client.query<{ applied_lsn: string | null }>(
    'SELECT applied_lsn::text AS applied_lsn FROM pgshift.stream WHERE slot = $1 FOR UPDATE',
    [slot],
  );
  return r.rows.length === 0 ? undefined : (r.rows[0]?.applied_lsn ?? null);
}

/**
 * Moves the applied position to the end of the last source transaction applied, in the SAME target transaction as
 * its changes (exactly once: a restart skips every transaction at or below it).
 */
export async function storeAppliedPosition(
  client: pg.ClientBase,
  p: {
    readonly slot: string;
    readonly lsn: string;
    readonly sourceCommitAt: Date | null;
    readonly transactions: number;
    readonly changes: number;
  },
): Promise<void> {
  await client.query(
    `UPDATE pgshift.stream
        SET applied_lsn = $2::pg_lsn, source_commit_at = COALESCE($3, source_commit_at), applied_at = clock_timestamp(),
            transactions = transactions + $4, changes = changes + $5, status = 'streaming', error = NULL,
            updated_at = clock_timestamp()
      WHERE slot = $1`,
    [p.slot, p.lsn, p.sourceCommitAt, p.transactions, p.changes],
  );
}

/** Marks the stream stopped or failed (the error text is already free of values). */
export async function markStream(
  client: pg.ClientBase,
  slot: string,
  status: StreamStatus,
  error: string | null = null,
): Promise<void> {
  await stateDb(client)
    .updateTable('pgshift.stream')
    .set({ status, error, updated_at: sql<Date>`clock_timestamp()` })
    .where('slot', '=', slot)
    .execute();
}

/** Forgets a slot that was dropped on the source. */
export async function forgetStream(client: pg.ClientBase, slot: string): Promise<void> {
  if (!(await hasStreamTable(client))) return;
  await stateDb(client).deleteFrom('pgshift.stream').where('slot', '=', slot).execute();
}

export interface ReplicaIdentityRow {
  readonly schema: string;
  readonly name: string;
  /** pg_class.relreplident before pgshift changed it: d(efault), n(othing), f(ull), i(ndex) */
  readonly oldIdentity: 'd' | 'n' | 'f' | 'i';
  /** the index of identity `i` */
  readonly oldIndex: string | null;
}

/** Records the identity a source table had before pgshift set it (the first one wins: a re-run keeps it). */
export async function recordReplicaIdentity(client: pg.ClientBase, r: ReplicaIdentityRow): Promise<void> {
  await stateDb(client)
    .insertInto('pgshift.replica_identity')
    .values({ table_schema: r.schema, table_name: r.name, old_identity: r.oldIdentity, old_index: r.oldIndex })
    .onConflict((oc) => oc.columns(['table_schema', 'table_name']).doNothing())
    .execute();
}

export async function readReplicaIdentities(client: pg.ClientBase): Promise<ReplicaIdentityRow[]> {
  const has = await client.query<{ ok: boolean }>(`SELECT to_regclass('pgshift.replica_identity') IS NOT NULL AS ok`);
  if (has.rows[0]?.ok !== true) return [];
  const rows = await stateDb(client)
    .selectFrom('pgshift.replica_identity')
    .select(['table_schema', 'table_name', 'old_identity', 'old_index'])
    .orderBy('table_schema')
    .orderBy('table_name')
    .execute();
  return rows.map((r) => ({
    schema: r.table_schema,
    name: r.table_name,
    oldIdentity: r.old_identity,
    oldIndex: r.old_index,
  }));
}

/** Forgets a table whose old identity was put back. */
export async function forgetReplicaIdentity(client: pg.ClientBase, schema: string, name: string): Promise<void> {
  await stateDb(client)
    .deleteFrom('pgshift.replica_identity')
    .where('table_schema', '=', schema)
    .where('table_name', '=', name)
    .execute();
}

/** The whole source snapshot each unit's copy began with (keyless units: the change stream skips what it saw). */
export async function copySnapshots(client: pg.ClientBase): Promise<Map<string, string>> {
  const has = await client.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('pgshift.migration_checkpoints')
                      AND attname = 'source_snapshot' AND NOT attisdropped) AS ok`,
  );
  if (has.rows[0]?.ok !== true) return new Map();
  const rows = await stateDb(client)
    .selectFrom('pgshift.migration_checkpoints')
    .select(['unit', 'source_snapshot'])
    .where('source_snapshot', 'is not', null)
    .execute();
  return new Map(rows.flatMap((r) => (r.source_snapshot ? [[r.unit, r.source_snapshot] as const] : [])));
}
