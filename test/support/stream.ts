/**
 * Change stream fixtures: a publication and a logical slot made with plain SQL on the source, the state schema and
 * the `pgshift.stream` row on the target, a "copy" of tables in one source snapshot (recorded as copy units), and the
 * slot's confirmed position. Every slot is unique and dropped by `drop()` (a left slot holds WAL for all tests).
 */
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { resolveEndpoint, type ResolvedEndpoint } from '../../src/db/endpoint.js';
import { stateDb } from '../../src/state/db.js';
import { migrateState } from '../../src/state/migrations.js';
import { recordStream } from '../../src/state/stream.js';
import { withPg } from './sql.js';

export interface StreamFixture {
  readonly slot: string;
  readonly publication: string;
  readonly consistentLsn: string;
  readonly source: ResolvedEndpoint;
  readonly target: ResolvedEndpoint;
  drop(): Promise<void>;
}

export function endpointOf(url: string, side: 'source' | 'target'): ResolvedEndpoint {
  return resolveEndpoint({
    side,
    url,
    provider: 'postgres',
    sslMode: undefined,
    caFile: undefined,
    extensionSchema: undefined,
  });
}

/** Drops a slot, ending the walsender that may still hold it (a killed applier's). */
export async function dropSlot(sourceUrl: string, slot: string): Promise<void> {
  await withPg(sourceUrl, async (c) => {
    for (let i = 0; i < 100; i++) {
      const r = await c.query<{ pid: number | null }>(
        'SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      const row = r.rows[0];
      if (!row) return;
      if (row.pid !== null) await c.query('SELECT pg_terminate_backend($1)', [row.pid]);
      try {
        await c.query('SELECT pg_drop_replication_slot($1)', [slot]);
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== '55006') throw err;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    throw new Error(`slot ${slot} stayed active`);
  });
}

/** Publication FOR TABLE `tables` (SQL names), slot, state schema, stream row. */
export async function setupStream(
  dbs: { sourceUrl: string; targetUrl: string },
  tables: readonly string[],
): Promise<StreamFixture> {
  const id = randomBytes(4).toString('hex');
  const slot = `pgshift_test_${id}`;
  const publication = `pgshift Pub "${id}"`;
  const pubIdent = `"${publication.replace(/"/g, '""')}"`;
  const consistentLsn = await withPg(dbs.sourceUrl, async (c) => {
    await c.query(`CREATE PUBLICATION ${pubIdent} FOR TABLE ${tables.join(', ')}`);
    const r = await c.query<{ lsn: string }>(
      "SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')",
      [slot],
    );
    return r.rows[0]?.lsn as string;
  });
  await withPg(dbs.targetUrl, async (c) => {
    await migrateState(stateDb(c));
    await recordStream(c, { slot, publication, insertsPublication: null, consistentLsn, runId: null });
  });
  return {
    slot,
    publication,
    consistentLsn,
    source: endpointOf(dbs.sourceUrl, 'source'),
    target: endpointOf(dbs.targetUrl, 'target'),
    drop: () => dropSlot(dbs.sourceUrl, slot),
  };
}

/**
 * Copies `tables` (schema-qualified SQL name -> the columns to copy, SQL) from the source to the target in ONE source
 * snapshot, and records that snapshot as each table's copy unit (`copy schema.name`). Returns the snapshot text.
 */
export async function copyInSnapshot(
  dbs: { sourceUrl: string; targetUrl: string },
  tables: readonly { schema: string; name: string; sql: string; columns: string }[],
): Promise<string> {
  return withPg(dbs.sourceUrl, (src) =>
    withPg(dbs.targetUrl, async (tgt) => {
      await src.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const snap = (await src.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s')).rows[0]?.s as string;
      for (const t of tables) {
        const out = src.query(copyTo(`COPY (SELECT ${t.columns} FROM ${t.sql}) TO STDOUT`));
        const into = tgt.query(copyFrom(`COPY ${t.sql} (${t.columns}) FROM STDIN`));
        await pipeline(out, into);
        await tgt.query(
          `INSERT INTO pgshift.migration_checkpoints (unit, table_schema, table_name, status, source_snapshot)
           VALUES ($1, $2, $3, 'done', $4)`,
          [`copy ${t.schema}.${t.name}`, t.schema, t.name, snap],
        );
      }
      await src.query('COMMIT');
      return snap;
    }),
  );
}

export async function currentLsn(url: string): Promise<string> {
  return withPg(url, async (c) => {
    const r = await c.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l');
    return r.rows[0]?.l as string;
  });
}

/** confirmed_flush_lsn of the slot on the source, and applied_lsn of its stream row on the target. */
export async function positions(
  dbs: { sourceUrl: string; targetUrl: string },
  slot: string,
): Promise<{ confirmed: string | null; applied: string | null }> {
  const confirmed = await withPg(dbs.sourceUrl, async (c) => {
    const r = await c.query<{ l: string | null }>(
      'SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    return r.rows[0]?.l ?? null;
  });
  const applied = await withPg(dbs.targetUrl, async (c) => {
    const r = await c.query<{ l: string | null }>('SELECT applied_lsn::text AS l FROM pgshift.stream WHERE slot = $1', [
      slot,
    ]);
    return r.rows[0]?.l ?? null;
  });
  return { confirmed, applied };
}
