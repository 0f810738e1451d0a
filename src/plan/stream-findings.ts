/** Findings about the change stream's slot and the tables whose updates and deletes cannot stream (pure). */
import type { Config } from '../config/types.js';
import type { SlotStatus } from '../stream/slot-status.js';
import type { Finding } from './model.js';

/** 1.5 GiB, 300 MiB, 12 kiB, 5 B. */
export function formatBytes(n: number): string {
  const units = ['B', 'kiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

const RECOPY =
  'The stream cannot continue: run `pgshift destroy` then `pgshift apply` to copy again under a new stream, or set cutover.strategy: freeze.';

export function lostSlotFinding(slot: string, how: 'gone' | 'lost'): Finding {
  return {
    code: 'STREAM_SLOT_LOST',
    severity: 'blocker',
    address: `replication slot ${slot}`,
    message:
      how === 'gone'
        ? `replication slot ${slot} is in pgshift's state but gone from the source: changes since it went are lost to the stream`
        : `replication slot ${slot} lost WAL it needed (wal_status lost, past max_slot_wal_keep_size): changes are lost to the stream`,
    hint: RECOPY,
  };
}

/** Warnings (and the lost blocker) from the slot's status. No byte count: a saved plan must not go stale by it. */
export function slotFindings(config: Config, slot: string, s: SlotStatus): Finding[] {
  if (s.walStatus === 'lost') return [lostSlotFinding(slot, 'lost')];
  const out: Finding[] = [];
  const limit = config.cutover.stream.maxSlotRetainedBytes;
  if (s.retainedBytes !== null && s.retainedBytes > limit)
    out.push({
      code: 'STREAM_SLOT_RETAINED',
      severity: 'warning',
      address: `replication slot ${slot}`,
      message: `replication slot ${slot} holds back more WAL on the source than cutover.stream.max_slot_retained (${formatBytes(limit)}): the source's disk fills while the stream is not read`,
      hint: 'Keep `pgshift apply --follow` running (or cut over soon); `pgshift destroy` drops the slot if the migration is abandoned.',
    });
  if (s.walStatus === 'unreserved')
    out.push({
      code: 'STREAM_SLOT_AT_RISK',
      severity: 'warning',
      address: `replication slot ${slot}`,
      message: `replication slot ${slot} is past max_slot_wal_keep_size (wal_status unreserved): the source will remove WAL it needs at the next checkpoint, and the stream is then lost`,
      hint: 'Read the stream now (`pgshift apply --follow`) or raise max_slot_wal_keep_size on the source.',
    });
  return out;
}

/** One warning per source table whose updates and deletes would not stream, with the statement that fixes it. */
export function gapFindings(
  config: Config,
  gaps: ReadonlyArray<{ schema: string; name: string; statement: string }>,
): Finding[] {
  const full = config.cutover.stream.replicaIdentityFull;
  return gaps.map((g) => ({
    code: 'STREAM_TABLE_WITHOUT_IDENTITY',
    severity: 'warning',
    address: `table ${g.schema}.${g.name}`,
    message: full
      ? `table ${g.schema}.${g.name} on the source has no usable replica identity: pgshift sets REPLICA IDENTITY FULL on it before the stream starts (destroy puts the old one back)`
      : `table ${g.schema}.${g.name} on the source has no usable replica identity (no primary key): it is published for inserts only, so its updates and deletes are not streamed and the cutover verification must compare it`,
    hint: full
      ? `The statement: ${g.statement}`
      : `Run on the source: ${g.statement}; or set cutover.stream.replica_identity_full: true to let pgshift do it.`,
  }));
}
