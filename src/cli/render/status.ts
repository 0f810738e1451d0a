import type { EnvBackup } from '../../cutover/backups.js';
import type { AuditCheck, AuditEntry } from '../../state/audit.js';
import type { LockHolder } from '../../state/lock.js';
import type { StateSnapshot } from '../../state/snapshot.js';
import { formatBytes } from '../../plan/stream-findings.js';
import type { StreamLag, StreamReport } from '../../stream/lag.js';
import type { TargetRows } from '../../state/target-rows.js';

export interface StatusView extends Omit<StateSnapshot, 'checkpoints'> {
  readonly checkpoints: ReadonlyArray<
    Omit<StateSnapshot['checkpoints'][number], 'lastKey'> & {
      /** What the table holds on the target now (null: not read, or the table is gone). */
      readonly targetRows?: TargetRows | null;
    }
  >;
  readonly migration: string;
  readonly target: string;
  readonly objectCount: number;
  /** The env backups cutovers left (old values of the switched variable, passwords as a rule). */
  readonly envBackups?: readonly EnvBackup[];
  /** The change stream's figures (slots: empty without a stream; absent where the caller did not read them). */
  readonly stream?: StreamReport;
  /** The copy units' queue of the last apply (pgshift.work_units): how many, done, failed, claimed now. */
  readonly queue?: { readonly units: number; readonly done: number; readonly failed: number; readonly claimed: number };
  /** The units claimed now and by whom (the apply's slots, `pgshift worker`s), with their leases. */
  readonly workers?: ReadonlyArray<{
    readonly unit: string;
    readonly owner: string | null;
    readonly leaseUntil: Date | null;
    readonly heartbeatAt: Date | null;
    readonly live: boolean;
    readonly claims: number;
  }>;
}

type StatusCheckpoint = StatusView['checkpoints'][number];

const PART = / \[([0-9]+)\/([0-9]+)\]$/;

/**
 * One row per table: a split table's parts (`copy x [i/n]`) summed (rows, bytes), its status the least finished of
 * theirs (failed, interrupted, running, done), with `parts` saying how many are done.
 */
export function byTable<T extends StatusCheckpoint>(
  rows: readonly T[],
): Array<T & { parts?: { done: number; of: number } }> {
  const out: Array<T & { parts?: { done: number; of: number } }> = [];
  const groups = new Map<string, T[]>();
  for (const r of rows) {
    const m = PART.exec(r.unit);
    if (!m) {
      out.push(r);
      continue;
    }
    const key = r.unit.replace(PART, '');
    const g = groups.get(key);
    if (g) g.push(r);
    else {
      const fresh = [r];
      groups.set(key, fresh);
      out.push(r); // placeholder, replaced below
    }
  }
  const rank = ['failed', 'running', 'interrupted', 'done'];
  return out.map((r) => {
    const m = PART.exec(r.unit);
    if (!m) return r;
    const key = r.unit.replace(PART, '');
    const g = groups.get(key) ?? [r];
    const of = Number(m[2]);
    const done = g.filter((x) => x.status === 'done').length;
    // the least finished of its parts; parts not begun yet (all begun done) leave it pending
    const worst = rank.find((x) => x !== 'done' && g.some((y) => y.status === x));
    const status = done === of ? 'done' : (worst ?? 'pending');
    return {
      ...r,
      unit: key,
      status,
      rowsCopied: g.reduce((n, x) => n + x.rowsCopied, 0),
      bytesCopied: g.reduce((n, x) => n + x.bytesCopied, 0),
      seconds: Math.max(...g.map((x) => x.seconds)),
      error: g.find((x) => x.error)?.error ?? null,
      parts: { done, of },
    };
  });
}

export function renderStatus(s: StatusView): string {
  const lines = [`Migration "${s.migration}" on ${s.target}`];
  if (!s.exists) {
    lines.push('', 'No state yet: pgshift has not applied anything to this target. Run `pgshift plan`.');
    return lines.join('\n');
  }
  lines.push(`  state serial  ${s.serial}`);
  lines.push(`  objects       ${s.objectCount} created by pgshift`);
  lines.push(
    `  lock          ${s.lock ? `${s.lock.lockId} held by ${s.lock.command} run ${s.lock.runId} (${s.lock.operator} on ${s.lock.host}, pid ${s.lock.osPid}) since ${s.lock.acquiredAt.toISOString()}${s.lock.alive ? '' : ' — holder is gone; the next apply takes it over'}` : 'free'}`,
  );
  lines.push(`  verification  ${verification(s.lastVerification)}`);
  if (s.largeObjects) lines.push(`  large objects ${largeObjectsLine(s.largeObjects, s.lock)}`);
  if (s.cutover) {
    const c = s.cutover;
    const what =
      c.status === 'running'
        ? `${c.direction} stopped after step ${c.step} (\`pgshift ${c.direction}\` completes it${c.direction === 'cutover' ? ', `pgshift rollback` reverts it' : ''})`
        : `${c.direction} ${c.status} ${c.finishedAt ?? ''}`;
    lines.push(`  application   on the ${c.applicationOn}`);
    lines.push(
      `  cutover       ${what}${c.freezeMs !== null ? `, write freeze ${c.freezeMs} ms` : ''}${c.error ? ` (${c.error})` : ''}`,
    );
  }
  for (const b of s.envBackups ?? []) lines.push(`  env backup    ${backupLine(b)}`);
  if (s.checkpoints.length > 0) {
    lines.push('', 'Tables:');
    const width = Math.max(...s.checkpoints.map((c) => `${c.tableSchema}.${c.tableName}`.length));
    const statusWidth = Math.max(8, ...s.checkpoints.map((c) => c.status.length));
    for (const c of s.checkpoints)
      lines.push(
        `  ${c.status.padEnd(statusWidth)} ${`${c.tableSchema}.${c.tableName}`.padEnd(width)}  ${rowsOf(c)}${partsOf(c)}${c.status === 'interrupted' ? ' (stopped; the next apply resumes it)' : ''}${c.error ? `  error: ${c.error}` : ''}`,
      );
  }
  if (s.queue && s.queue.units > 0) {
    lines.push(
      '',
      `Copy units: ${s.queue.done} of ${s.queue.units} done${s.queue.failed ? `, ${s.queue.failed} failed` : ''}, ${s.queue.claimed} claimed now`,
    );
    for (const w of s.workers ?? [])
      lines.push(
        `  ${w.unit}  ${w.owner ?? 'unknown'}  ${w.live ? `lease until ${w.leaseUntil?.toISOString() ?? '?'}` : `lease EXPIRED at ${w.leaseUntil?.toISOString() ?? '?'} (the next claimer takes it over from its checkpoint)`}${w.heartbeatAt ? `, heartbeat ${w.heartbeatAt.toISOString()}` : ''}${w.claims > 1 ? `, claimed ${w.claims} times` : ''}`,
      );
  }
  if (s.stream && s.stream.slots.length > 0) lines.push('', ...renderStream(s.stream, s.lock));
  if (s.runs.length > 0) {
    lines.push('', 'Last runs:');
    for (const r of s.runs)
      lines.push(
        `  ${r.startedAt}  ${r.command.padEnd(8)} ${r.status.padEnd(11)} ${r.operator}@${r.host}  ${r.id}${r.error ? `  (${r.error})` : ''}`,
      );
  }
  return lines.join('\n');
}

/** The large objects copy: done, or how far it got (a run other than the lock's live holder's stopped). */
function largeObjectsLine(lo: NonNullable<StateSnapshot['largeObjects']>, lock: LockHolder | undefined): string {
  const copied = `${lo.objects.toLocaleString('en-US')} objects, ${formatBytes(lo.bytes)} copied`;
  if (lo.status === 'done') return `done: ${copied}`;
  const live = lock?.alive === true && lock.runId === lo.runId;
  return `${live ? 'running' : 'interrupted'}: ${copied}, up to OID ${lo.lastOid ?? '-'}${live ? '' : ' (the next apply resumes after it)'}`;
}

/** Where a backup is, what it holds, and whether a rollback uses it (else: what removes it). */
function backupLine(b: EnvBackup): string {
  const what = b.cutoverId
    ? `${b.variable ?? 'the variable'} before cutover ${b.cutoverId.slice(0, 8)}, with its password if it had one`
    : "named like pgshift's backups, not recorded in this target's state";
  if (b.usable && !b.exists)
    return `${b.file} MISSING (${what}; \`pgshift rollback\` restores from it: put it back, or roll back with --force and set the variable by hand)`;
  if (b.usable) return `${b.file} (${what}; mode 0600; \`pgshift rollback\` restores from it)`;
  return `${b.file} (${what}; no rollback uses it: ${b.cutoverId ? 'the next cutover or `pgshift destroy` removes it, or delete it' : 'delete it once its value is of no use'})`;
}

/** The last verification: result, when, what it compared and found; stale when pgshift changed the target since. */
function verification(v: StatusView['lastVerification']): string {
  if (!v) return 'none yet (`pgshift apply` verifies when it ends; `pgshift verify` runs one now)';
  const rows = v.rowDifferences ?? 0;
  const schema = v.schemaDifferences ?? 0;
  const found =
    rows + schema === 0
      ? '0 differences'
      : `${rows + schema} differences (${rows} rows in ${v.tablesWithDifferences ?? 0} tables, ${schema} schema objects)`;
  const stale = v.fresh ? '' : '; pgshift changed the target since: `pgshift verify` checks it again';
  return `${v.result} ${v.finishedAt ?? v.startedAt}: ${v.tables ?? 0} tables, ${found}${stale} (id ${v.id})`;
}

/**
 * What the copy carried and, when it differs or is only an estimate, what the table holds now: the catch-up, the
 * final sync, the stream and the application change a table after its copy, so its copied count alone goes stale.
 */
function rowsOf(c: StatusView['checkpoints'][number]): string {
  const copied = `${c.rowsCopied} rows copied`;
  const t = c.targetRows;
  if (!t || (t.exact && t.rows === c.rowsCopied)) return copied;
  return t.exact ? `${copied}, ${t.rows} on the target now` : `${copied}, ~${t.rows} on the target now (estimate)`;
}

function partsOf(c: StatusCheckpoint & { parts?: { done: number; of: number } }): string {
  return c.parts ? ` (${c.parts.done} of ${c.parts.of} key ranges done)` : '';
}

const bytes = (n: number): string => (n < 1024 ? `${n} B` : `${formatBytes(n)} (${n} bytes)`);

function who(l: StreamLag, lock: LockHolder | undefined): string {
  if (l.slotExists === false) return 'GONE from the source';
  if (!l.active || !l.reader) return 'nobody reads it (`pgshift apply --follow` streams)';
  const r = l.reader;
  const follower =
    lock?.alive && lock.command === 'follow'
      ? `; the target's lock: apply --follow by ${lock.operator} on ${lock.host}, pid ${lock.osPid}`
      : '';
  return `read by pid ${r.pid} (application ${r.applicationName ? JSON.stringify(r.applicationName) : '(none)'}, user ${r.user ?? '?'}${r.since ? `, since ${r.since}` : ''})${follower}`;
}

function retained(l: StreamLag): string {
  if (l.slotExists === false) return 'none: the slot is gone, and with it the changes it kept';
  if (l.retainedBytes === null) return `unknown (wal_status ${l.walStatus ?? 'unknown'})`;
  const keep =
    l.maxSlotWalKeepSizeBytes === null
      ? 'max_slot_wal_keep_size unlimited: the source keeps it until its disk is full'
      : `max_slot_wal_keep_size ${formatBytes(l.maxSlotWalKeepSizeBytes)}${l.safeWalSizeBytes !== null ? `, ${formatBytes(l.safeWalSizeBytes)} more before the slot is lost` : ''}`;
  return `${bytes(l.retainedBytes)}, wal_status ${l.walStatus ?? 'unknown'}; pgshift warns past ${formatBytes(l.maxSlotRetainedBytes)} (cutover.stream.max_slot_retained); ${keep}`;
}

/** The change stream: one block per slot; the source's figures, or why they are missing. */
export function renderStream(r: StreamReport, lock: LockHolder | undefined): string[] {
  const lines = ['Change stream:'];
  for (const l of r.slots) {
    lines.push(
      `  slot          ${l.slot}, ${l.status}${l.error ? ` (${l.error})` : ''}${l.sourceRead ? `, ${who(l, lock)}` : ''}`,
    );
    lines.push(`  publications  ${l.publications.join(', ')}`);
    lines.push(
      l.appliedLsn
        ? `  applied       up to ${l.appliedLsn}: ${l.transactions} transactions, ${l.changes} changes; last source commit ${l.sourceCommitAt ?? 'none yet'}, stored ${l.appliedAt ?? '?'}`
        : `  applied       nothing yet (consistent point ${l.consistentLsn})`,
    );
    if (!l.sourceRead) continue;
    lines.push(
      `  lag           ${l.lagBytes === null ? 'unknown' : bytes(l.lagBytes)}, ${l.lagSeconds === null ? '?' : `${l.lagSeconds} s`} behind the source (at ${l.currentLsn ?? '?'})`,
    );
    lines.push(`  WAL retained  ${retained(l)}`);
    for (const w of l.warnings) {
      lines.push(`  warning       [${w.code}] ${w.message}`);
      if (w.hint) lines.push(`                ${w.hint}`);
    }
  }
  if (!r.sourceRead)
    lines.push(
      `  source        could not be read (${r.sourceError ?? 'unknown reason'}): the lag and the WAL the slot retains are unknown`,
    );
  return lines;
}

export function renderAudit(entries: readonly AuditEntry[], check: AuditCheck): string {
  const lines = [
    '',
    `Audit trail: ${entries.length} entries, ${check.ok ? 'chain intact' : `BROKEN at entry ${check.brokenAt?.seq} (${check.brokenAt?.reason})`}`,
  ];
  for (const e of entries.slice(-20)) {
    lines.push(
      `  #${e.seq}  ${e.at}  ${e.command.padEnd(8)} ${e.outcome.padEnd(12)} ${e.operator}@${e.host}${e.planHash ? `  plan ${e.planHash}` : ''}  ${e.hash.slice(0, 12)}`,
    );
  }
  return lines.join('\n');
}
