/**
 * `pgshift status`'s figures for the change stream: where the applier stands (pgshift.stream on the target), how far
 * the source has written past it (lag in bytes and seconds), who reads the slot, and the WAL the slot holds back on
 * the source against the limits. docs/streaming.md defines each figure.
 */
import type pg from 'pg';
import type { Config } from '../config/types.js';
import { withClient, type SessionSettings } from '../db/connect.js';
import type { ResolvedEndpoint } from '../db/endpoint.js';
import { scrub } from '../log/redact.js';
import type { StreamRow } from '../state/stream.js';
import type { StreamStatus } from '../state/db.js';
import { parseLsn } from './pgoutput.js';
import { slotStatus, type SlotStatus } from './slot-status.js';

/** The session that reads the slot (a walsender), as pg_stat_activity names it. */
export interface SlotReader {
  readonly pid: number;
  readonly applicationName: string | null;
  readonly user: string | null;
  readonly since: string | null;
}

/** What the source says about one slot, read in one visit. */
export interface SourceSlotFacts extends SlotStatus {
  /** clock_timestamp() on the source: lag seconds compare it with the source's own commit times */
  readonly sourceNow: Date;
  /** pg_replication_slots.safe_wal_size: WAL the source may still write before the slot is lost (null: no limit) */
  readonly safeWalSizeBytes: number | null;
  readonly reader: SlotReader | null;
}

export interface StreamWarning {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
}

export interface StreamLag {
  readonly slot: string;
  readonly publications: readonly string[];
  /** pgshift.stream.status: created (nothing applied yet), streaming, stopped, failed */
  readonly status: StreamStatus;
  readonly error: string | null;
  readonly consistentLsn: string;
  /** end of the last source transaction (or idle position) committed on the target; null before the first */
  readonly appliedLsn: string | null;
  /** the source's commit time of the last applied transaction (source clock) */
  readonly sourceCommitAt: string | null;
  /** when the target last stored the applied position (target clock) */
  readonly appliedAt: string | null;
  readonly transactions: number;
  readonly changes: number;
  /** whether the source answered; every figure below is null when it did not */
  readonly sourceRead: boolean;
  readonly slotExists: boolean | null;
  readonly active: boolean | null;
  readonly reader: SlotReader | null;
  /** pg_current_wal_lsn() on the source */
  readonly currentLsn: string | null;
  /** current LSN - applied LSN (the consistent point before the first apply), never below 0 */
  readonly lagBytes: number | null;
  /** 0 when lagBytes is 0; else seconds since the source commit of the last applied transaction (see docs) */
  readonly lagSeconds: number | null;
  /** current LSN - the slot's restart_lsn: WAL the source keeps for this slot */
  readonly retainedBytes: number | null;
  readonly walStatus: string | null;
  readonly safeWalSizeBytes: number | null;
  /** max_slot_wal_keep_size in bytes; null: unlimited (-1) */
  readonly maxSlotWalKeepSizeBytes: number | null;
  /** cutover.stream.max_slot_retained: pgshift warns past it */
  readonly maxSlotRetainedBytes: number;
  readonly warnings: readonly StreamWarning[];
}

export interface StreamReport {
  /** false when the source could not be reached or queried: the target's figures are still shown */
  readonly sourceRead: boolean;
  /** why not (scrubbed of secrets) */
  readonly sourceError: string | null;
  readonly slots: readonly StreamLag[];
}

export async function sourceSlotFacts(source: pg.ClientBase, slot: string): Promise<SourceSlotFacts> {
  const status = await slotStatus(source, slot);
  const r = await source.query<{
    now: Date;
    safe: string | null;
    pid: number | null;
    app: string | null;
    usename: string | null;
    since: Date | null;
  }>(
    `SELECT pg_catalog.clock_timestamp() AS now, s.safe_wal_size::text AS safe, a.pid, a.application_name AS app,
            a.usename::text AS usename, a.backend_start AS since
       FROM (SELECT 1) one
       LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name = $1
       LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = s.active_pid`,
    [slot],
  );
  const row = r.rows[0];
  if (!row) throw new Error('slot reader query returned no row');
  const pid = row.pid ?? status.activePid;
  return {
    ...status,
    sourceNow: row.now,
    safeWalSizeBytes: row.safe === null ? null : Math.max(0, Number(row.safe)),
    reader:
      status.active && pid !== null
        ? { pid, applicationName: row.app, user: row.usename, since: row.since?.toISOString() ?? null }
        : null,
  };
}

function bytesBetween(from: string, to: string): number {
  const d = parseLsn(to) - parseLsn(from);
  return d > 0n ? Number(d) : 0;
}

/**
 * Lag seconds: 0 when the applied position is at the source's current LSN; otherwise the time since the source commit
 * of the last applied transaction (before the first one: since the stream was created), on the source's clock. The
 * target holds every transaction that committed up to that moment; one committed later may be missing, so the figure
 * is an upper bound of how stale the target is.
 */
export function lagSeconds(row: StreamRow, lagBytes: number, sourceNow: Date): number {
  if (lagBytes === 0) return 0;
  const since = row.sourceCommitAt ?? row.createdAt;
  return Math.max(0, Math.round((sourceNow.getTime() - since.getTime()) / 100) / 10);
}

const RECOPY =
  'The stream cannot continue: `pgshift destroy` then `pgshift apply` copies again under a new stream (or set cutover.strategy: freeze).';

/**
 * The warning lines of one slot: gone or lost (the stream cannot go on), past max_slot_wal_keep_size (the source
 * removes WAL it needs at its next checkpoint), past cutover.stream.max_slot_retained. The same codes as the plan's
 * findings (src/plan/stream-findings.ts); the figures stand next to them in the status.
 */
export function slotWarnings(config: Config, slot: string, f: SourceSlotFacts): StreamWarning[] {
  if (!f.exists)
    return [
      {
        code: 'STREAM_SLOT_LOST',
        message: `replication slot ${slot} is in pgshift's state but gone from the source: changes since it went are lost to the stream`,
        hint: RECOPY,
      },
    ];
  if (f.walStatus === 'lost')
    return [
      {
        code: 'STREAM_SLOT_LOST',
        message: `replication slot ${slot} lost WAL it needed (wal_status lost, past max_slot_wal_keep_size): changes are lost to the stream`,
        hint: RECOPY,
      },
    ];
  const out: StreamWarning[] = [];
  if (f.retainedBytes !== null && f.retainedBytes > config.cutover.stream.maxSlotRetainedBytes)
    out.push({
      code: 'STREAM_SLOT_RETAINED',
      message: `replication slot ${slot} holds back more WAL on the source than cutover.stream.max_slot_retained: the source's disk fills while the stream is not read`,
      hint: 'Keep `pgshift apply --follow` running (or cut over soon); `pgshift destroy` drops the slot if the migration is abandoned.',
    });
  if (f.walStatus === 'unreserved')
    out.push({
      code: 'STREAM_SLOT_AT_RISK',
      message: `replication slot ${slot} is past max_slot_wal_keep_size (wal_status unreserved): the source removes WAL it needs at its next checkpoint, and the stream is then lost`,
      hint: 'Read the stream now (`pgshift apply --follow`) or raise max_slot_wal_keep_size on the source.',
    });
  return out;
}

/** The figures of one stream row, with what the source said about its slot (undefined: the source did not answer). */
export function streamLag(config: Config, row: StreamRow, facts: SourceSlotFacts | undefined): StreamLag {
  const base = {
    slot: row.slot,
    publications: [row.publication, ...(row.insertsPublication ? [row.insertsPublication] : [])],
    status: row.status,
    error: row.error,
    consistentLsn: row.consistentLsn,
    appliedLsn: row.appliedLsn,
    sourceCommitAt: row.sourceCommitAt?.toISOString() ?? null,
    appliedAt: row.appliedAt?.toISOString() ?? null,
    transactions: row.transactions,
    changes: row.changes,
    maxSlotRetainedBytes: config.cutover.stream.maxSlotRetainedBytes,
  };
  if (!facts) {
    return {
      ...base,
      sourceRead: false,
      slotExists: null,
      active: null,
      reader: null,
      currentLsn: null,
      lagBytes: null,
      lagSeconds: null,
      retainedBytes: null,
      walStatus: null,
      safeWalSizeBytes: null,
      maxSlotWalKeepSizeBytes: null,
      warnings: [],
    };
  }
  const lagBytes = bytesBetween(row.appliedLsn ?? row.consistentLsn, facts.currentLsn);
  return {
    ...base,
    sourceRead: true,
    slotExists: facts.exists,
    active: facts.exists ? facts.active : null,
    reader: facts.reader,
    currentLsn: facts.currentLsn,
    lagBytes,
    lagSeconds: lagSeconds(row, lagBytes, facts.sourceNow),
    retainedBytes: facts.exists ? facts.retainedBytes : null,
    walStatus: facts.walStatus,
    safeWalSizeBytes: facts.exists ? facts.safeWalSizeBytes : null,
    maxSlotWalKeepSizeBytes: facts.maxSlotWalKeepSizeMb === null ? null : facts.maxSlotWalKeepSizeMb * 1024 * 1024,
    warnings: slotWarnings(config, row.slot, facts),
  };
}

/**
 * Visits the source once for every stream row. A source that cannot be reached or queried is no failure of status:
 * the report says so (the reason without secrets) and carries the target's figures alone.
 */
export async function readStreamReport(
  config: Config,
  source: ResolvedEndpoint,
  settings: SessionSettings,
  rows: readonly StreamRow[],
): Promise<StreamReport> {
  if (rows.length === 0) return { sourceRead: true, sourceError: null, slots: [] };
  try {
    // one attempt: status answers now, it does not wait out a source that is down
    const facts = await withClient(source, { ...settings, retry: { ...settings.retry, attempts: 1 } }, async (c) => {
      const out: SourceSlotFacts[] = [];
      for (const row of rows) out.push(await sourceSlotFacts(c, row.slot));
      return out;
    });
    return { sourceRead: true, sourceError: null, slots: rows.map((r, i) => streamLag(config, r, facts[i])) };
  } catch (err) {
    return {
      sourceRead: false,
      sourceError: scrub(err instanceof Error ? err.message : String(err)),
      slots: rows.map((r) => streamLag(config, r, undefined)),
    };
  }
}
