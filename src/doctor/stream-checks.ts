/**
 * doctor's change-stream checks on the source: wal_level, the REPLICATION attribute (or superuser), free replication
 * slots and WAL senders, and the WAL pgshift's slot holds back if one exists. A failing check blocks under an explicit
 * `cutover.strategy: stream`, warns under auto (the cutover then uses a write freeze), and is information under freeze.
 */
import type pg from 'pg';
import type { Config } from '../config/types.js';
import { formatBytes } from '../plan/stream-findings.js';
import { readStreams } from '../state/stream.js';
import { streamNames } from '../stream/names.js';
import { readinessFacts } from '../stream/readiness.js';
import { slotStatus } from '../stream/slot-status.js';
import type { Check, CheckStatus } from './doctor.js';

function failing(config: Config): CheckStatus {
  const s = config.cutover.strategy;
  return s === 'stream' ? 'block' : s === 'auto' ? 'warn' : 'info';
}

function check(id: string, code: string, status: CheckStatus, message: string, hint?: string): Check {
  return { id, code, side: 'source', status, message, ...(hint && status !== 'ok' ? { hint } : {}) };
}

/** The slot pgshift uses: the state's, else the migration's name on this source database. */
async function ownSlot(source: pg.ClientBase, target: pg.ClientBase | undefined, config: Config): Promise<string> {
  const recorded = target ? (await readStreams(target).catch(() => [])).at(-1) : undefined;
  if (recorded) return recorded.slot;
  const db = await source.query<{ db: string }>('SELECT current_database() AS db');
  return streamNames(config.name, db.rows[0]?.db).slot;
}

export async function streamChecks(
  config: Config,
  source: pg.ClientBase,
  target: pg.ClientBase | undefined,
): Promise<Check[]> {
  const bad = failing(config);
  const slot = await ownSlot(source, target, config);
  const f = await readinessFacts(source, slot);
  const checks: Check[] = [
    check(
      'stream',
      f.walLevel === 'logical' ? 'STREAM_WAL_LEVEL_LOGICAL' : 'STREAM_WAL_LEVEL',
      f.walLevel === 'logical' ? 'ok' : bad,
      `wal_level = ${f.walLevel}${f.walLevel === 'logical' ? '' : ': a change stream needs logical'}`,
      'ALTER SYSTEM SET wal_level = logical (or the provider setting, e.g. rds.logical_replication = 1) and restart the source.',
    ),
    check(
      'stream',
      f.canReplicate ? 'STREAM_REPLICATION_ROLE' : 'STREAM_REPLICATION_MISSING',
      f.canReplicate ? 'ok' : bad,
      `role ${f.role} ${f.canReplicate ? 'may' : 'may NOT'} create a replication slot (REPLICATION attribute or superuser)`,
      `ALTER ROLE ${f.role} REPLICATION (as a superuser; on RDS: GRANT rds_replication TO ${f.role}).`,
    ),
  ];
  const slotsFree = f.maxReplicationSlots - f.slotsUsed;
  checks.push(
    check(
      'stream',
      f.ownSlotExists || slotsFree > 0 ? 'STREAM_SLOTS_FREE' : 'STREAM_SLOTS_EXHAUSTED',
      f.ownSlotExists || slotsFree > 0 ? 'ok' : bad,
      `replication slots: ${f.slotsUsed} of max_replication_slots = ${f.maxReplicationSlots} in use${f.ownSlotExists ? " (pgshift's among them)" : ''}`,
      'Drop an unused slot (pg_drop_replication_slot) or raise max_replication_slots (needs a restart).',
    ),
  );
  const sendersFree = f.maxWalSenders - f.walSendersUsed;
  checks.push(
    check(
      'stream',
      sendersFree > 0 ? 'STREAM_WAL_SENDERS_FREE' : 'STREAM_WAL_SENDERS_EXHAUSTED',
      sendersFree > 0 ? 'ok' : bad,
      `WAL senders: ${f.walSendersUsed} of max_wal_senders = ${f.maxWalSenders} in use`,
      'Raise max_wal_senders on the source (needs a restart).',
    ),
  );
  if (f.ownSlotExists) {
    const s = await slotStatus(source, slot);
    const over = s.retainedBytes !== null && s.retainedBytes > config.cutover.stream.maxSlotRetainedBytes;
    const risky = s.walStatus === 'unreserved' || s.walStatus === 'lost';
    checks.push(
      check(
        'stream',
        over || risky ? 'STREAM_SLOT_RETAINED' : 'STREAM_SLOT_OK',
        s.walStatus === 'lost' ? 'block' : over || risky ? 'warn' : 'ok',
        `replication slot ${slot} retains ${s.retainedBytes === null ? 'unknown' : formatBytes(s.retainedBytes)} of WAL (wal_status ${s.walStatus ?? 'unknown'}, limit cutover.stream.max_slot_retained ${formatBytes(config.cutover.stream.maxSlotRetainedBytes)})`,
        s.walStatus === 'lost'
          ? 'The stream cannot continue: `pgshift destroy` then `pgshift apply` copies again under a new stream.'
          : 'Keep `pgshift apply --follow` running so the slot advances, or `pgshift destroy` an abandoned migration.',
      ),
    );
  }
  return checks;
}
