/**
 * pgshift.large_objects (the large objects pgshift created on the target) and pgshift.large_object_copy (the copy's
 * checkpoint). Every write takes the caller's client: a batch's objects, their records and the checkpoint commit in
 * one transaction.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';

/** The large objects copy's checkpoint. */
export interface LargeObjectProgress {
  readonly status: 'running' | 'done';
  /** The last OID a committed batch copied (decimal), null before the first. */
  readonly lastOid: string | null;
  readonly objects: number;
  readonly bytes: number;
  /** sha256 chained over the batches: each object's OID and the md5 of what the copy read on the source. */
  readonly digest: string;
  readonly runId: string;
  readonly updatedAt: Date;
}

/** The digest before any batch. */
export const EMPTY_LARGE_OBJECT_DIGEST = createHash('sha256').update('pgshift large objects').digest('hex');

/** The chained digest after a batch. */
export function chainDigest(
  previous: string,
  objects: ReadonlyArray<{ readonly oid: string; readonly md5: string }>,
): string {
  const h = createHash('sha256').update(previous);
  for (const o of objects) h.update(`\n${o.oid} ${o.md5}`);
  return h.digest('hex');
}

async function hasTable(client: pg.ClientBase, table: string): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>('SELECT pg_catalog.to_regclass($1) IS NOT NULL AS ok', [table]);
  return r.rows[0]?.ok === true;
}

/** The checkpoint, or undefined (no copy yet, or a state older than migration 0008); `forUpdate` locks the row. */
export async function readLargeObjectProgress(
  client: pg.ClientBase,
  opts: { readonly forUpdate?: boolean } = {},
): Promise<LargeObjectProgress | undefined> {
  if (!(await hasTable(client, 'pgshift.large_object_copy'))) return undefined;
  const r = await client.query<{
    status: 'running' | 'done';
    last_oid: string | null;
    objects: string;
    bytes: string;
    digest: string;
    run_id: string;
    updated_at: Date;
  }>(
    `SELECT status, last_oid::text AS last_oid, objects::text AS objects, bytes::text AS bytes, digest, run_id, updated_at
       FROM pgshift.large_object_copy WHERE id = 1${opts.forUpdate ? ' FOR UPDATE' : ''}`,
  );
  const x = r.rows[0];
  if (!x) return undefined;
  return {
    status: x.status,
    lastOid: x.last_oid,
    objects: Number(x.objects),
    bytes: Number(x.bytes),
    digest: x.digest,
    runId: x.run_id,
    updatedAt: x.updated_at,
  };
}

export interface LargeObjectBatch {
  readonly runId: string;
  /** The objects this batch created, in OID order, with their sizes and the md5 of what was read on the source. */
  readonly objects: ReadonlyArray<{ readonly oid: string; readonly bytes: number; readonly md5: string }>;
  /** The previous checkpoint (read FOR UPDATE in the same transaction), if any. */
  readonly previous: LargeObjectProgress | undefined;
  /** The source has nothing after this batch. */
  readonly done: boolean;
}

/** Records a batch inside the caller's transaction: the objects' records and the checkpoint after them. */
export async function recordLargeObjectBatch(client: pg.ClientBase, b: LargeObjectBatch): Promise<void> {
  if (b.objects.length > 0) {
    // unnest of several arrays is FROM-clause syntax, not a function of pg_catalog: it takes no schema
    await client.query(
      `INSERT INTO pgshift.large_objects (oid, bytes, md5, run_id)
       SELECT t.oid, t.bytes, t.md5, $4 FROM unnest($1::oid[], $2::int8[], $3::text[]) AS t(oid, bytes, md5)
       ON CONFLICT (oid) DO UPDATE SET bytes = excluded.bytes, md5 = excluded.md5, run_id = excluded.run_id,
                                       created_at = pg_catalog.clock_timestamp()`,
      [b.objects.map((o) => o.oid), b.objects.map((o) => String(o.bytes)), b.objects.map((o) => o.md5), b.runId],
    );
  }
  const last = b.objects.at(-1)?.oid ?? b.previous?.lastOid ?? null;
  const digest = chainDigest(b.previous?.digest ?? EMPTY_LARGE_OBJECT_DIGEST, b.objects);
  await client.query(
    `INSERT INTO pgshift.large_object_copy (id, status, last_oid, objects, bytes, digest, run_id, finished_at)
     VALUES (1, $1, $2::oid, $3, $4, $5, $6, CASE WHEN $1 = 'done' THEN pg_catalog.clock_timestamp() END)
     ON CONFLICT (id) DO UPDATE SET status = excluded.status, last_oid = excluded.last_oid,
       objects = pgshift.large_object_copy.objects + excluded.objects,
       bytes = pgshift.large_object_copy.bytes + excluded.bytes,
       digest = excluded.digest, run_id = excluded.run_id, updated_at = pg_catalog.clock_timestamp(),
       finished_at = excluded.finished_at`,
    [
      b.done ? 'done' : 'running',
      last,
      b.objects.length,
      String(b.objects.reduce((n, o) => n + o.bytes, 0)),
      digest,
      b.runId,
    ],
  );
}

/**
 * Records objects the cutover's sync copied (new on the source, or copied again), in any OID order, inside the
 * caller's transaction: their records, and the checkpoint's totals recounted from the records (an object copied again
 * counts once), its last OID the highest it has seen, its digest chained on. A source whose large objects all came
 * after the apply gets its checkpoint here, done.
 */
export async function recordSyncedLargeObjects(
  client: pg.ClientBase,
  runId: string,
  objects: ReadonlyArray<{ readonly oid: string; readonly bytes: number; readonly md5: string }>,
): Promise<void> {
  if (objects.length === 0) return;
  const previous = await readLargeObjectProgress(client, { forUpdate: true });
  await client.query(
    `INSERT INTO pgshift.large_objects (oid, bytes, md5, run_id)
     SELECT t.oid, t.bytes, t.md5, $4 FROM unnest($1::oid[], $2::int8[], $3::text[]) AS t(oid, bytes, md5)
     ON CONFLICT (oid) DO UPDATE SET bytes = excluded.bytes, md5 = excluded.md5, run_id = excluded.run_id,
                                     created_at = pg_catalog.clock_timestamp()`,
    [objects.map((o) => o.oid), objects.map((o) => String(o.bytes)), objects.map((o) => o.md5), runId],
  );
  // OIDs compare unsigned, as the oid type does
  const highest = objects.reduce((m, o) => (Number(o.oid) > Number(m) ? o.oid : m), previous?.lastOid ?? '0');
  const digest = chainDigest(previous?.digest ?? EMPTY_LARGE_OBJECT_DIGEST, objects);
  await client.query(
    `INSERT INTO pgshift.large_object_copy (id, status, last_oid, objects, bytes, digest, run_id, finished_at)
     SELECT 1, 'done', $1::oid, count(*), coalesce(sum(l.bytes), 0), $2, $3, pg_catalog.clock_timestamp()
       FROM pgshift.large_objects l
     ON CONFLICT (id) DO UPDATE SET last_oid = excluded.last_oid, objects = excluded.objects, bytes = excluded.bytes,
       digest = excluded.digest, run_id = excluded.run_id, updated_at = pg_catalog.clock_timestamp()`,
    [highest, digest, runId],
  );
}

/** The OIDs of large objects pgshift created, in `oids`: those it may replace (its own, from an earlier copy). */
export async function ownLargeObjects(client: pg.ClientBase, oids: readonly string[]): Promise<Set<string>> {
  if (oids.length === 0) return new Set();
  const r = await client.query<{ oid: string }>(
    'SELECT oid::text AS oid FROM pgshift.large_objects WHERE oid = ANY ($1::oid[])',
    [oids],
  );
  return new Set(r.rows.map((x) => x.oid));
}

/** How many large objects pgshift recorded as created (0 on a state older than migration 0008). */
export async function countCreatedLargeObjects(client: pg.ClientBase): Promise<number> {
  if (!(await hasTable(client, 'pgshift.large_objects'))) return 0;
  const r = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM pgshift.large_objects');
  return Number(r.rows[0]?.n ?? 0);
}

/** The next `limit` OIDs pgshift created (destroy's batches), in OID order. */
export async function createdLargeObjects(client: pg.ClientBase, limit: number): Promise<string[]> {
  const r = await client.query<{ oid: string }>(
    'SELECT oid::text AS oid FROM pgshift.large_objects ORDER BY oid LIMIT $1',
    [limit],
  );
  return r.rows.map((x) => x.oid);
}

/** The checkpoint's totals recounted from the records (after the cutover's sync unlinked some), in the caller's transaction. */
export async function recountLargeObjects(client: pg.ClientBase): Promise<void> {
  await client.query(
    `UPDATE pgshift.large_object_copy
        SET objects = (SELECT count(*) FROM pgshift.large_objects),
            bytes = (SELECT coalesce(sum(bytes), 0) FROM pgshift.large_objects), updated_at = pg_catalog.clock_timestamp()`,
  );
}

/** Forgets large objects that were unlinked, in the caller's transaction; with none left, the checkpoint too. */
export async function forgetLargeObjects(client: pg.ClientBase, oids: readonly string[]): Promise<void> {
  if (oids.length > 0) await client.query('DELETE FROM pgshift.large_objects WHERE oid = ANY ($1::oid[])', [oids]);
  await client.query('DELETE FROM pgshift.large_object_copy WHERE NOT EXISTS (SELECT 1 FROM pgshift.large_objects)');
}

/**
 * Lists the target's own large objects (those pgshift neither copied nor carried back) in
 * pgshift.target_large_objects, as they are now; the cutover's sync calls it before the switch, when every object
 * pgshift did not record was the target's before the migration. A state older than migration 0010 lists none.
 */
export async function listTargetOwnLargeObjects(client: pg.ClientBase): Promise<void> {
  if (!(await hasTable(client, 'pgshift.target_large_objects'))) return;
  await client.query(
    `WITH gone AS (
       DELETE FROM pgshift.target_large_objects t
        WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = t.oid)
           OR EXISTS (SELECT 1 FROM pgshift.large_objects l WHERE l.oid = t.oid))
     INSERT INTO pgshift.target_large_objects (oid)
     SELECT m.oid FROM pg_catalog.pg_largeobject_metadata m
      WHERE NOT EXISTS (SELECT 1 FROM pgshift.large_objects l WHERE l.oid = m.oid)
     ON CONFLICT (oid) DO NOTHING`,
  );
}

/** The OIDs in `oids` that the target had of its own when the last cutover listed them (never carried back). */
export async function targetOwnLargeObjects(client: pg.ClientBase, oids: readonly string[]): Promise<Set<string>> {
  if (oids.length === 0 || !(await hasTable(client, 'pgshift.target_large_objects'))) return new Set();
  const r = await client.query<{ oid: string }>(
    'SELECT oid::text AS oid FROM pgshift.target_large_objects WHERE oid = ANY ($1::oid[])',
    [oids],
  );
  return new Set(r.rows.map((x) => x.oid));
}
