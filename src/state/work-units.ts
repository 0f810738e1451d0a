/**
 * pgshift.work_units: the copy units of the running apply as a queue on the target. The apply's copy slots and any
 * `pgshift worker` claim a unit with FOR UPDATE SKIP LOCKED and hold it by a lease (owner, expiry) that a heartbeat
 * renews and that each batch's transaction checks and renews (the lease fence). A claimer that dies stops renewing:
 * once the lease has expired anyone takes the unit over, and it resumes from its checkpoint. Postgres is the only
 * coordinator.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { PgshiftError } from '../errors/index.js';
import { maskServerValues } from '../db/server-error.js';
import { scrub } from '../log/redact.js';

export type UnitStatus = 'queued' | 'claimed' | 'done' | 'failed';

/**
 * A claimed unit's lease still holds (`w` the row): not expired, and the session that claimed it (and copies its
 * batches) still exists. A claimer killed outright loses its session at once, so its unit is free then, without
 * waiting for the expiry; the expiry covers a claimer cut off from the server whose session lingers. A session of
 * another role whose start this role may not see (pg_stat_activity hides it) counts as alive.
 */
function held(w: string): string {
  return `(${w}.status = 'claimed' AND ${w}.lease_until >= clock_timestamp()
           AND EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                        WHERE a.pid = ${w}.holder_pid
                          AND (a.backend_start = ${w}.holder_started OR a.backend_start IS NULL)))`;
}

/** A unit claimed by this process: its lease id is the fence every batch checks. */
export interface Lease<A = unknown> {
  readonly unit: string;
  readonly leaseId: string;
  /** The apply run that queued the unit: its checkpoints carry that run id, whoever copies it. */
  readonly runId: string;
  /** The action the apply queued it with (the plan's copy action, as JSON). */
  readonly action: A;
}

/** What the queue keeps of a unit: its id, its table, and the action to run (stored as JSON). */
export interface QueuedUnit {
  readonly id: string;
  readonly table: { readonly schema: string; readonly name: string };
}

/**
 * Queues the copy units of this apply run (in plan order), in one transaction. A unit a live lease still holds (a
 * worker copying it for an earlier run of the apply) keeps its lease; every other unit starts over as queued and
 * not ready (its dependencies are this run's to decide). Units of earlier plans that this one has not are removed.
 */
export async function queueUnits(client: pg.ClientBase, runId: string, actions: readonly QueuedUnit[]): Promise<void> {
  const rows = actions.map((a, seq) => ({
    unit: a.id,
    seq,
    table_schema: a.table.schema,
    table_name: a.table.name,
    action: a,
  }));
  await client.query('BEGIN');
  try {
    await client.query(`DELETE FROM pgshift.work_units w WHERE NOT (w.unit = ANY($1::text[])) AND NOT ${held('w')}`, [
      rows.map((r) => r.unit),
    ]);
    await client.query(
      `INSERT INTO pgshift.work_units AS w (unit, seq, run_id, table_schema, table_name, action)
       SELECT r.unit, r.seq, $2, r.table_schema, r.table_name, r.action
         FROM jsonb_to_recordset($1::jsonb) AS r(unit text, seq int, table_schema text, table_name text, action jsonb)
       ON CONFLICT (unit) DO UPDATE SET
         seq = excluded.seq, run_id = excluded.run_id, action = excluded.action, ready = false, error = NULL,
         status = CASE WHEN ${held('w')} THEN 'claimed' ELSE 'queued' END,
         lease_id = CASE WHEN ${held('w')} THEN w.lease_id END,
         owner = CASE WHEN ${held('w')} THEN w.owner END,
         lease_until = CASE WHEN ${held('w')} THEN w.lease_until END,
         updated_at = clock_timestamp()`,
      [JSON.stringify(rows), runId],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** The unit's dependencies are done (its table exists): anyone may claim it now. */
export async function markReady(client: pg.ClientBase, units: readonly string[]): Promise<void> {
  await client.query(
    `UPDATE pgshift.work_units SET ready = true, updated_at = clock_timestamp() WHERE unit = ANY($1)`,
    [units],
  );
}

/**
 * Claims a ready unit that nobody holds (queued, or claimed under a lease that expired): `unit` when given, else
 * the first in plan order. SKIP LOCKED: a unit whose batch is committing (its row locked by the lease fence) is
 * skipped, never waited for.
 */
export async function claimUnit<A>(
  client: pg.ClientBase,
  opts: {
    readonly owner: string;
    readonly leaseMs: number;
    readonly unit?: string;
    /** Leases this claimer gave up with a broken session (it could not release them): its own to take back at once. */
    readonly reclaim?: readonly string[];
  },
): Promise<Lease<A> | undefined> {
  const leaseId = randomBytes(8).toString('hex');
  const r = await client.query<{ unit: string; run_id: string; action: A }>(
    `UPDATE pgshift.work_units w
        SET status = 'claimed', lease_id = $1, owner = $2, claims = w.claims + 1,
            lease_until = clock_timestamp() + $3::int * interval '1 millisecond',
            heartbeat_at = clock_timestamp(), updated_at = clock_timestamp(),
            holder_pid = pg_catalog.pg_backend_pid(),
            holder_started = (SELECT a.backend_start FROM pg_catalog.pg_stat_activity a WHERE a.pid = pg_catalog.pg_backend_pid())
      WHERE w.unit = (SELECT c.unit FROM pgshift.work_units c
                       WHERE c.ready AND (c.status = 'queued' OR (c.status = 'claimed' AND NOT ${held('c')})
                                          OR (c.status = 'claimed' AND c.lease_id = ANY($5::text[])))
                         AND ($4::text IS NULL OR c.unit = $4)
                       ORDER BY c.seq LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING w.unit, w.run_id, w.action`,
    [leaseId, opts.owner, Math.round(opts.leaseMs), opts.unit ?? null, [...(opts.reclaim ?? [])]],
  );
  const row = r.rows[0];
  return row ? { unit: row.unit, leaseId, runId: row.run_id, action: row.action } : undefined;
}

/**
 * The lease fence, in a batch's transaction: the lease is still this claimer's (nobody took the unit over after it
 * expired), renewed from now. The row stays locked until the batch commits, so no claimer can take the unit while
 * its batch is in flight. LEASE_LOST otherwise: the batch must not commit.
 */
export async function fenceLease(
  client: pg.ClientBase,
  lease: Pick<Lease, 'unit' | 'leaseId'>,
  leaseMs: number,
): Promise<void> {
  const r = await client.query(
    `UPDATE pgshift.work_units
        SET lease_until = clock_timestamp() + $3::int * interval '1 millisecond', heartbeat_at = clock_timestamp()
      WHERE unit = $1 AND lease_id = $2 AND status = 'claimed'`,
    [lease.unit, lease.leaseId, Math.round(leaseMs)],
  );
  if (r.rowCount !== 1) {
    throw new PgshiftError(
      'LEASE_LOST',
      `${lease.unit}: its lease expired and another claimer took it over; stopped before its next batch`,
      { hint: 'Nothing to do: the unit resumes from its checkpoint on its new claimer.' },
    );
  }
}

/** The unit's last batch: done, in that batch's transaction (after fenceLease). */
export async function finishLease(client: pg.ClientBase, lease: Pick<Lease, 'leaseId'>): Promise<void> {
  await client.query(
    `UPDATE pgshift.work_units SET status = 'done', lease_until = NULL, updated_at = clock_timestamp()
      WHERE lease_id = $1`,
    [lease.leaseId],
  );
}

/** Gives a unit back (stopped cleanly, or a transient error): queued again, anyone takes it at once. */
export async function releaseLease(client: pg.ClientBase, lease: Pick<Lease, 'leaseId'>): Promise<void> {
  await client.query(
    `UPDATE pgshift.work_units SET status = 'queued', lease_id = NULL, owner = NULL, lease_until = NULL,
            updated_at = clock_timestamp()
      WHERE lease_id = $1 AND status = 'claimed'`,
    [lease.leaseId],
  );
}

/** A unit the target rejects a value of: failed, with the error (no values), until the next apply queues it again. */
export async function failLease(client: pg.ClientBase, lease: Pick<Lease, 'leaseId'>, error: string): Promise<void> {
  await client.query(
    `UPDATE pgshift.work_units SET status = 'failed', lease_until = NULL, error = $2, updated_at = clock_timestamp()
      WHERE lease_id = $1`,
    [lease.leaseId, maskServerValues(scrub(error))],
  );
}

/**
 * The heartbeat: renews these leases from now. Never waits: a unit whose row a batch holds (its fence renews it)
 * is skipped. Returns the leases still held.
 */
export async function renewLeases(
  client: pg.ClientBase,
  leaseIds: readonly string[],
  leaseMs: number,
): Promise<number> {
  if (leaseIds.length === 0) return 0;
  const r = await client.query(
    `UPDATE pgshift.work_units
        SET lease_until = clock_timestamp() + $2::int * interval '1 millisecond', heartbeat_at = clock_timestamp()
      WHERE unit IN (SELECT unit FROM pgshift.work_units WHERE lease_id = ANY($1) AND status = 'claimed'
                     FOR UPDATE SKIP LOCKED)`,
    [leaseIds, Math.round(leaseMs)],
  );
  return r.rowCount ?? 0;
}

export interface UnitRow {
  readonly unit: string;
  readonly runId: string;
  readonly table: { readonly schema: string; readonly name: string };
  readonly ready: boolean;
  readonly status: UnitStatus;
  readonly owner: string | null;
  readonly leaseUntil: Date | null;
  readonly heartbeatAt: Date | null;
  /** The lease is held and not expired (its owner copies the unit now). */
  readonly live: boolean;
  readonly claims: number;
  readonly error: string | null;
}

/** The queue (empty before the first apply of this version): for status, the apply's waits and the workers. */
export async function readUnits(client: pg.ClientBase, unit?: string): Promise<UnitRow[]> {
  const has = await client.query<{ ok: boolean }>(`SELECT to_regclass('pgshift.work_units') IS NOT NULL AS ok`);
  if (has.rows[0]?.ok !== true) return [];
  const r = await client.query<{
    unit: string;
    run_id: string;
    table_schema: string;
    table_name: string;
    ready: boolean;
    status: UnitStatus;
    owner: string | null;
    lease_until: Date | null;
    heartbeat_at: Date | null;
    live: boolean;
    claims: number;
    error: string | null;
  }>(
    `SELECT unit, run_id, table_schema, table_name, ready, status, owner, lease_until, heartbeat_at, claims, error,
            ${held('w')} AS live
       FROM pgshift.work_units w ${unit ? 'WHERE unit = $1' : ''} ORDER BY seq`,
    unit ? [unit] : [],
  );
  return r.rows.map((x) => ({
    unit: x.unit,
    runId: x.run_id,
    table: { schema: x.table_schema, name: x.table_name },
    ready: x.ready,
    status: x.status,
    owner: x.owner,
    leaseUntil: x.lease_until,
    heartbeatAt: x.heartbeat_at,
    live: x.live,
    claims: x.claims,
    error: x.error,
  }));
}

/** Units nobody has finished yet (queued or claimed; a failed unit waits for the next apply). */
export async function unitsLeft(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pgshift.work_units WHERE status IN ('queued', 'claimed')`,
  );
  return r.rows[0]?.n ?? 0;
}
