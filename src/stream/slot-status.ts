/** How much WAL a slot holds back on the source, and how dangerous that is (wal_status, max_slot_wal_keep_size). */
import type pg from 'pg';

export interface SlotStatus {
  readonly exists: boolean;
  readonly active: boolean;
  readonly activePid: number | null;
  readonly restartLsn: string | null;
  readonly confirmedFlushLsn: string | null;
  readonly currentLsn: string;
  /** WAL the slot keeps on the source: current LSN - restart_lsn */
  readonly retainedBytes: number | null;
  /** what the stream has not confirmed yet: current LSN - confirmed_flush_lsn */
  readonly lagBytes: number | null;
  /** reserved, extended, unreserved or lost */
  readonly walStatus: string | null;
  /** max_slot_wal_keep_size in MB; null when unlimited (-1) */
  readonly maxSlotWalKeepSizeMb: number | null;
}

export async function slotStatus(source: pg.ClientBase, slot: string): Promise<SlotStatus> {
  const r = await source.query<{
    exists: boolean;
    active: boolean | null;
    active_pid: number | null;
    restart_lsn: string | null;
    confirmed_flush_lsn: string | null;
    current_lsn: string;
    retained: string | null;
    lag: string | null;
    wal_status: string | null;
    keep: number;
  }>(
    `SELECT s.slot_name IS NOT NULL AS exists, s.active, s.active_pid, s.restart_lsn::text AS restart_lsn,
            s.confirmed_flush_lsn::text AS confirmed_flush_lsn, c.lsn::text AS current_lsn,
            pg_catalog.pg_wal_lsn_diff(c.lsn, s.restart_lsn)::text AS retained,
            pg_catalog.pg_wal_lsn_diff(c.lsn, s.confirmed_flush_lsn)::text AS lag, s.wal_status,
            (SELECT setting::int FROM pg_catalog.pg_settings WHERE name = 'max_slot_wal_keep_size') AS keep
       FROM (SELECT pg_catalog.pg_current_wal_lsn() AS lsn) c
       LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name = $1`,
    [slot],
  );
  const row = r.rows[0];
  if (!row) throw new Error('slot status query returned no row');
  const num = (v: string | null): number | null => (v === null ? null : Math.max(0, Number(v)));
  return {
    exists: row.exists,
    active: row.active === true,
    activePid: row.active_pid,
    restartLsn: row.restart_lsn,
    confirmedFlushLsn: row.confirmed_flush_lsn,
    currentLsn: row.current_lsn,
    retainedBytes: num(row.retained),
    lagBytes: num(row.lag),
    walStatus: row.wal_status,
    maxSlotWalKeepSizeMb: row.keep < 0 ? null : row.keep,
  };
}
