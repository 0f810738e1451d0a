/**
 * Read by refresh: the target's large objects that pgshift did not create whose OIDs the source's large objects use
 * too (the copy would stop at them). The target's OIDs go to the source as a parameter (at most 10,000: a target with
 * more is checked on those), never the other way round.
 */
import type pg from 'pg';

export interface LargeObjectClash {
  /** How many of the checked target OIDs the source uses too. */
  readonly objects: number;
  /** The lowest of them. */
  readonly first: string;
}

const CHECKED = 10_000;

export async function readLargeObjectClash(
  source: pg.ClientBase,
  target: pg.ClientBase,
): Promise<LargeObjectClash | undefined> {
  const state = await target.query<{ ok: boolean }>(
    `SELECT pg_catalog.to_regclass('pgshift.large_objects') IS NOT NULL AS ok`,
  );
  const notOurs =
    state.rows[0]?.ok === true ? 'WHERE NOT EXISTS (SELECT 1 FROM pgshift.large_objects p WHERE p.oid = m.oid)' : '';
  const t = await target.query<{ oid: string }>(
    `SELECT m.oid::text AS oid FROM pg_catalog.pg_largeobject_metadata m ${notOurs} ORDER BY m.oid LIMIT ${CHECKED}`,
  );
  if (t.rows.length === 0) return undefined;
  const s = await source.query<{ n: string; first: string | null }>(
    `SELECT count(*)::text AS n, min(m.oid)::text AS first FROM pg_catalog.pg_largeobject_metadata m
      WHERE m.oid = ANY ($1::oid[])`,
    [t.rows.map((x) => x.oid)],
  );
  const row = s.rows[0];
  return row && Number(row.n) > 0 && row.first ? { objects: Number(row.n), first: row.first } : undefined;
}
