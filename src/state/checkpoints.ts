/**
 * pgshift.migration_checkpoints: how far each copy unit got. Every write takes the caller's client, so a batch's
 * rows and its checkpoint commit in the same transaction.
 */
import { sql } from 'kysely';
import type pg from 'pg';
import { maskServerValues } from '../db/server-error.js';
import { scrub } from '../log/redact.js';
import { stateDb, type StateTables } from './db.js';
import { tableUnit } from './unit-names.js';

export type CheckpointStatus = StateTables['pgshift.migration_checkpoints']['status'];

/** A unit's checkpoint as the copy resumes from it. */
export interface StoredCheckpoint {
  readonly status: CheckpointStatus;
  /** The JSON stored as last_key (the copy engine's key record), or null. */
  readonly lastKey: unknown;
  readonly rows: number;
}

/** The unit's checkpoint; `forUpdate` locks the row until the caller's transaction ends. */
export async function readCheckpoint(
  client: pg.ClientBase,
  unit: string,
  opts: { readonly forUpdate: boolean },
): Promise<StoredCheckpoint | undefined> {
  const q = stateDb(client)
    .selectFrom('pgshift.migration_checkpoints')
    .select(['status', 'last_key', 'rows_copied'])
    .where('unit', '=', unit);
  const row = await (opts.forUpdate ? q.forUpdate() : q).executeTakeFirst();
  return row ? { status: row.status, lastKey: row.last_key, rows: Number(row.rows_copied) } : undefined;
}

export interface CheckpointProgress {
  readonly unit: string;
  readonly table: { readonly schema: string; readonly name: string };
  readonly status: 'running' | 'done';
  /** JSON-able key record of the last copied row, or null (done, or no key). */
  readonly lastKey: unknown;
  /** Rows and bytes of this batch: added to what the checkpoint holds. */
  readonly rows: number;
  readonly bytes: number;
  readonly runId: string;
  /** When the unit's copy began on the source (kept from the unit's first batch). */
  readonly start: { readonly at: Date; readonly xmin: string; readonly snapshot?: string } | null;
  /** This batch's digest on the source (rows, sum of row hashes) and how it hashed: added to the unit's. */
  readonly digest?: { readonly rows: number; readonly sum: string; readonly recipe: unknown } | null;
}

/** Records one batch inside the caller's transaction: the data and the progress commit together. */
export async function writeCheckpoint(client: pg.ClientBase, p: CheckpointProgress): Promise<void> {
  await stateDb(client)
    .insertInto('pgshift.migration_checkpoints')
    .values({
      unit: p.unit,
      table_schema: p.table.schema,
      table_name: p.table.name,
      status: p.status,
      last_key: p.lastKey === null ? null : JSON.stringify(p.lastKey),
      rows_copied: p.rows,
      bytes_copied: p.bytes,
      started_at: sql<Date>`coalesce(${p.start?.at ?? null}::timestamptz, clock_timestamp())`,
      updated_at: sql<Date>`clock_timestamp()`,
      finished_at: p.status === 'done' ? sql<Date>`clock_timestamp()` : null,
      run_id: p.runId,
      error: null,
      source_xmin: sql<string>`${p.start?.xmin ?? null}::bigint`,
      source_snapshot: p.start?.snapshot || null,
      digest_rows: p.digest ? p.digest.rows : null,
      digest_sum: p.digest ? p.digest.sum : null,
      digest_recipe: p.digest ? JSON.stringify(p.digest.recipe) : null,
      verified: null,
      verified_at: null,
    })
    .onConflict((oc) =>
      oc.column('unit').doUpdateSet((eb) => ({
        status: eb.ref('excluded.status'),
        last_key: eb.ref('excluded.last_key'),
        rows_copied: eb(eb.ref('pgshift.migration_checkpoints.rows_copied'), '+', eb.ref('excluded.rows_copied')),
        bytes_copied: eb(eb.ref('pgshift.migration_checkpoints.bytes_copied'), '+', eb.ref('excluded.bytes_copied')),
        updated_at: sql<Date>`clock_timestamp()`,
        finished_at: eb.ref('excluded.finished_at'),
        run_id: eb.ref('excluded.run_id'),
        error: null,
        // a unit copied again from its start (keyless: one atomic unit) read a new snapshot; a later batch keeps it
        source_xmin: sql<string>`coalesce(excluded.source_xmin, pgshift.migration_checkpoints.source_xmin)`,
        source_snapshot: sql<string>`coalesce(excluded.source_snapshot, pgshift.migration_checkpoints.source_snapshot)`,
        // a unit's digest is the sum of its batches' while they all hashed alike (and every one was digested);
        // a checkpoint without rows yet (a failure recorded before any batch) starts from this batch
        digest_rows: sql<string>`CASE WHEN pgshift.migration_checkpoints.rows_copied = 0 THEN excluded.digest_rows
          WHEN pgshift.migration_checkpoints.digest_recipe = excluded.digest_recipe
          THEN pgshift.migration_checkpoints.digest_rows + excluded.digest_rows END`,
        digest_sum: sql<string>`CASE WHEN pgshift.migration_checkpoints.rows_copied = 0 THEN excluded.digest_sum
          WHEN pgshift.migration_checkpoints.digest_recipe = excluded.digest_recipe
          THEN pgshift.migration_checkpoints.digest_sum + excluded.digest_sum END`,
        digest_recipe: eb.ref('excluded.digest_recipe'),
        verified: null,
        verified_at: null,
      })),
    )
    .execute();
}

/**
 * A unit stopped by a value the target rejects (its own transaction, after the rollback). The message is kept as
 * the state keeps errors: no secret, no value a server message quoted.
 */
export async function recordCheckpointFailure(
  client: pg.ClientBase,
  f: {
    readonly unit: string;
    readonly table: { readonly schema: string; readonly name: string };
    readonly runId: string;
    readonly error: string;
  },
): Promise<void> {
  await stateDb(client)
    .insertInto('pgshift.migration_checkpoints')
    .values({
      unit: f.unit,
      table_schema: f.table.schema,
      table_name: f.table.name,
      status: 'failed',
      run_id: f.runId,
      error: maskServerValues(scrub(f.error)),
      started_at: sql<Date>`clock_timestamp()`,
    })
    .onConflict((oc) =>
      oc.column('unit').doUpdateSet((eb) => ({
        status: 'failed',
        error: eb.ref('excluded.error'),
        run_id: eb.ref('excluded.run_id'),
        updated_at: sql<Date>`clock_timestamp()`,
      })),
    )
    .execute();
}

/** Forgets a unit's checkpoint (its table was created anew and holds no row), in the caller's transaction. */
export async function deleteCheckpoint(client: pg.ClientBase, unit: string): Promise<void> {
  // a split table's parts (`unit [i/n]`) go too (its key boundaries, ranges of the source's keys, stay valid)
  await client.query(
    `DELETE FROM pgshift.migration_checkpoints WHERE unit = $1 OR (left(unit, length($1) + 2) = $1 || ' [' AND unit ~ ' \\[[0-9]+/[0-9]+\\]$')`,
    [unit],
  );
}

/** When each unit's copy began (the source's snapshot xmin, and time); empty before the first apply. */
export async function copyStartTimes(client: pg.ClientBase): Promise<Map<string, { at: Date; xmin: string | null }>> {
  const has = await client.query<{ ok: boolean }>(
    `SELECT to_regclass('pgshift.migration_checkpoints') IS NOT NULL AS ok`,
  );
  if (has.rows[0]?.ok !== true) return new Map();
  const rows = await stateDb(client)
    .selectFrom('pgshift.migration_checkpoints')
    .select(['unit', 'started_at', sql<string | null>`source_xmin::text`.as('source_xmin')])
    .where('started_at', 'is not', null)
    .execute();
  // a split table's parts began one by one: the table's copy began with the first of them (its oldest snapshot)
  const out = new Map<string, { at: Date; xmin: string | null }>();
  for (const x of rows) {
    if (!x.started_at) continue;
    const unit = tableUnit(x.unit);
    const had = out.get(unit);
    const older = (a: string | null, b: string | null): string | null =>
      a === null ? b : b === null ? a : BigInt(a) < BigInt(b) ? a : b;
    out.set(
      unit,
      had
        ? { at: had.at < x.started_at ? had.at : x.started_at, xmin: older(had.xmin, x.source_xmin) }
        : { at: x.started_at, xmin: x.source_xmin },
    );
  }
  return out;
}

/** A unit's digest as its batches recorded it, and what the read-back of the target found. */
export interface UnitDigest {
  readonly unit: string;
  readonly status: CheckpointStatus;
  readonly rows: number;
  readonly sum: string;
  readonly recipe: unknown;
  readonly verified: 'match' | 'mismatch' | null;
  readonly verifiedAt: Date | null;
  /** The run that wrote the unit's last batch. */
  readonly runId: string | null;
}

/** Digests of the given units (or of all), leaving out units without a complete digest. */
export async function readDigests(client: pg.ClientBase, units?: readonly string[]): Promise<Map<string, UnitDigest>> {
  let q = stateDb(client)
    .selectFrom('pgshift.migration_checkpoints')
    .select([
      'unit',
      'status',
      sql<string>`digest_rows::text`.as('digest_rows'),
      sql<string>`digest_sum::text`.as('digest_sum'),
      'digest_recipe',
      'verified',
      'verified_at',
      'run_id',
    ])
    .where('digest_rows', 'is not', null)
    .where('digest_sum', 'is not', null);
  if (units) q = q.where('unit', 'in', units.length > 0 ? [...units] : ['']);
  const rows = await q.execute();
  return new Map(
    rows.map((r) => [
      r.unit,
      {
        unit: r.unit,
        status: r.status,
        rows: Number(r.digest_rows),
        sum: r.digest_sum,
        recipe: r.digest_recipe,
        verified: r.verified,
        verifiedAt: r.verified_at,
        runId: r.run_id,
      },
    ]),
  );
}

/** Records what reading the target back found for units (a table's, or all parts of a split table's; one statement). */
export async function recordVerified(
  client: pg.ClientBase,
  units: readonly string[],
  verified: 'match' | 'mismatch',
): Promise<void> {
  if (units.length === 0) return;
  await stateDb(client)
    .updateTable('pgshift.migration_checkpoints')
    .set({ verified, verified_at: sql<Date>`clock_timestamp()` })
    .where('unit', 'in', [...units])
    .execute();
}

/**
 * A split table's digest: the sum of its parts' (rows and sums), when every part is done with a complete digest of
 * the given recipe; undefined otherwise. `verified` is the parts' common verdict (null unless all share one) and
 * `runId` the run of the part written last.
 */
export function sumDigests<R>(
  units: readonly string[],
  digests: ReadonlyMap<string, UnitDigest>,
  recipe: R,
  /** Whether a stored recipe (jsonb: its keys reordered) is this one: src/verify/expressions.ts sameRecipe. */
  same: (stored: unknown, recipe: R) => boolean,
): { rows: number; sum: string; verified: 'match' | 'mismatch' | null; runIds: string[] } | undefined {
  let rows = 0;
  let sum = 0n;
  const verdicts = new Set<string | null>();
  const runIds: string[] = [];
  for (const u of units) {
    const d = digests.get(u);
    if (!d || d.status !== 'done' || !same(d.recipe, recipe)) return undefined;
    rows += d.rows;
    sum += BigInt(d.sum);
    verdicts.add(d.verified);
    if (d.runId) runIds.push(d.runId);
  }
  const verified = verdicts.size === 1 ? ([...verdicts][0] as 'match' | 'mismatch' | null) : null;
  return { rows, sum: sum.toString(), verified, runIds };
}
