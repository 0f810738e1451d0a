/**
 * One run of the follow loop (src/stream/follow.ts): source transactions grouped into target transactions, each
 * storing the END LSN of its last source transaction with its changes before that LSN is confirmed to the slot.
 */
import type pg from 'pg';
import { PgshiftError } from '../errors/index.js';
import { assertLockHeld } from '../state/lock.js';
import { lockAppliedPosition, storeAppliedPosition } from '../state/stream.js';
import type { Applier } from './applier.js';
import type { FollowOptions } from './follow.js';
import { decodePgoutput, formatLsn, parseLsn } from './pgoutput.js';
import type { ReplicationSession } from './replication.js';

/**
 * Measured (8,000 one-row source transactions then one 8,000-row update, PG15 -> PG17 on this 2-core machine): one
 * target transaction per source transaction 9.2 s; groups of 50: 4.2 s; 500: 4.3 s; 5000: 3.8 s. Past a few dozen the
 * round trip per change dominates, so a group is kept small enough to hold few locks and subtransactions on the
 * target; a group also commits as soon as nothing more is buffered (lag stays low when the stream is quiet).
 */
export const DEFAULT_MAX_BATCH_CHANGES = 1000;
export const DEFAULT_MAX_BATCH_MS = 500;
/** how long the loop waits for a frame before it looks at the signal and asks the server for a keepalive */
const POLL_MS = 250;
/** an idle stream moves the stored position to the server's keepalive position at most this often */
const IDLE_ADVANCE_MS = 1000;

/**
 * Crash testing: PGSHIFT_FAULT_KILL=stream:committed:<n> makes the process SIGKILL itself after its n-th target
 * commit, before that position is confirmed to the slot (the slot then resends what the target already has).
 */
function faultAfterCommit(commits: number): void {
  const f = process.env.PGSHIFT_FAULT_KILL;
  if (f?.startsWith('stream:committed:') && commits >= Number(f.slice('stream:committed:'.length))) {
    process.kill(process.pid, 'SIGKILL');
  }
}
interface SourceTx {
  readonly xid: number;
  readonly skip: boolean;
  readonly savepoint: boolean;
  changes: number;
}

/** One run of the loop; its fields are the totals the result reports. */
export class FollowLoop {
  applied: bigint;
  transactions = 0;
  changes = 0;
  private commits = 0;
  private received = 0n;
  private readonly until: bigint | null;
  private tx: SourceTx | null = null;
  /** the open target transaction: whole source transactions in it, the end LSN of the last one */
  private group: {
    txns: number;
    changes: number;
    openedAt: number;
    lastEnd: bigint;
    lastCommitAt: Date | null;
  } | null = null;
  private lastIdleAdvance = 0;
  private readonly maxChanges: number;
  private readonly maxMs: number;

  constructor(
    private readonly opts: FollowOptions,
    private readonly target: pg.ClientBase,
    private readonly session: ReplicationSession,
    private readonly applier: Applier,
    start: bigint,
  ) {
    this.applied = start;
    this.until = opts.untilLsn ? parseLsn(opts.untilLsn) : null;
    this.maxChanges = opts.maxBatchChanges ?? DEFAULT_MAX_BATCH_CHANGES;
    this.maxMs = opts.maxBatchMs ?? DEFAULT_MAX_BATCH_MS;
  }

  async run(): Promise<'until' | 'signal'> {
    for (;;) {
      if (this.until !== null && this.applied >= this.until && !this.tx && !this.group) return 'until';
      if (this.opts.signal?.aborted) {
        await this.abandonTx();
        await this.commitGroup();
        return 'signal';
      }
      const frame = await this.session.next(POLL_MS);
      // between source transactions with nothing more to read: what the group holds commits now
      if (this.group && !this.tx && (!frame || frame.kind === 'keepalive')) await this.commitGroup();
      if (!frame) {
        if (!this.tx && !this.group) this.session.sendStatus(true); // idle: ask where the server is
        continue;
      }
      if (frame.kind === 'keepalive') {
        if (frame.walEnd > this.received) this.received = frame.walEnd;
        if (frame.replyRequested) this.session.sendStatus(false);
        if (!this.tx && !this.group) await this.idleAdvance(frame.walEnd);
        continue;
      }
      if (frame.start > this.received) this.received = frame.start;
      try {
        await this.handle(frame.data);
      } catch (err) {
        // the whole source transactions before the failing one stay committed; nothing past them is confirmed
        try {
          await this.abandonTx();
          await this.commitGroup();
        } catch {
          if (this.group) await this.rollbackGroup().catch(() => undefined);
        }
        throw err;
      }
    }
  }

  /**
   * Nothing pending and the server has decoded up to `walEnd` (a keepalive carries the position it has sent):
   * every transaction before it is on the target, so the position moves there, stored first, then confirmed.
   */
  private async idleAdvance(walEnd: bigint): Promise<void> {
    if (walEnd <= this.applied) return;
    const due = this.until !== null && walEnd >= this.until;
    if (!due && Date.now() - this.lastIdleAdvance < IDLE_ADVANCE_MS) return;
    this.lastIdleAdvance = Date.now();
    await this.openGroup();
    const g = this.group as NonNullable<FollowLoop['group']>;
    g.lastEnd = walEnd > this.applied ? walEnd : this.applied;
    await this.commitGroup();
  }

  private async handle(data: Buffer): Promise<void> {
    const m = decodePgoutput(data);
    switch (m.tag) {
      case 'begin': {
        const skip = m.finalLsn < this.applied;
        if (!skip) await this.openGroup();
        const savepoint = !skip && (this.group?.txns ?? 0) > 0;
        if (savepoint) await this.target.query('SAVEPOINT pgshift_source_tx');
        this.tx = { xid: m.xid, skip: skip || m.finalLsn < this.applied, savepoint, changes: 0 };
        return;
      }
      case 'commit': {
        const tx = this.tx;
        this.tx = null;
        if (!tx || tx.skip || !this.group) return;
        if (tx.savepoint) await this.target.query('RELEASE SAVEPOINT pgshift_source_tx');
        this.group.txns += 1;
        this.group.changes += tx.changes;
        this.group.lastEnd = m.endLsn;
        this.group.lastCommitAt = m.commitTime;
        if (this.groupFull()) await this.commitGroup();
        return;
      }
      case 'relation':
        return this.applier.relation(m);
      case 'type':
        return this.applier.type(m);
      case 'origin':
      case 'message':
        return; // a pgshift message (the cutover fence) moves the position with its transaction
      default: {
        const tx = this.tx;
        if (!tx) throw new PgshiftError('STREAM_PROTOCOL', `a ${m.tag} came outside a transaction`);
        if (tx.skip) return;
        if (await this.applier.apply(m, tx.xid)) tx.changes += 1;
      }
    }
  }

  private groupFull(): boolean {
    const g = this.group;
    if (!g) return false;
    if (this.until !== null && g.lastEnd >= this.until) return true;
    if (this.opts.signal?.aborted) return true;
    if (g.changes >= this.maxChanges || Date.now() - g.openedAt >= this.maxMs) return true;
    return this.session.buffered() === 0; // caught up: commit now, nothing waits to join the group
  }

  /** BEGIN on the target, the lock fence, the applied position FOR UPDATE (another applier may have moved it). */
  private async openGroup(): Promise<void> {
    if (this.group) return;
    await this.target.query('BEGIN; SET CONSTRAINTS ALL DEFERRED');
    this.group = { txns: 0, changes: 0, openedAt: Date.now(), lastEnd: this.applied, lastCommitAt: null };
    if (this.opts.lockId) await assertLockHeld(this.target, this.opts.lockId, 'the change stream');
    const stored = await lockAppliedPosition(this.target, this.opts.slot);
    if (stored === undefined) {
      throw new PgshiftError(
        'STREAM_STATE_MISSING',
        `the stream row of slot ${this.opts.slot} is gone from the target`,
      );
    }
    const at = stored ? parseLsn(stored) : 0n;
    if (at > this.applied) this.applied = this.group.lastEnd = at;
  }

  /** A source transaction broken off (an error, a signal): its changes go, the whole ones before it stay. */
  private async abandonTx(): Promise<void> {
    const tx = this.tx;
    this.tx = null;
    if (!tx || tx.skip || !this.group) return;
    if (tx.savepoint) await this.target.query('ROLLBACK TO SAVEPOINT pgshift_source_tx');
    else await this.rollbackGroup();
  }

  private async rollbackGroup(): Promise<void> {
    this.group = null;
    await this.target.query('ROLLBACK');
  }

  /** Stores the end LSN of the group's last source transaction with its changes, commits, then confirms it. */
  private async commitGroup(): Promise<void> {
    const g = this.group;
    if (!g) return;
    if (g.lastEnd <= this.applied && g.txns === 0) {
      await this.rollbackGroup();
      return;
    }
    await storeAppliedPosition(this.target, {
      slot: this.opts.slot,
      lsn: formatLsn(g.lastEnd),
      sourceCommitAt: g.lastCommitAt,
      transactions: g.txns,
      changes: g.changes,
    });
    this.group = null;
    await this.target.query('COMMIT');
    this.applied = g.lastEnd;
    this.transactions += g.txns;
    this.changes += g.changes;
    this.commits += 1;
    faultAfterCommit(this.commits);
    this.session.confirm(g.lastEnd);
    if (g.lastEnd > this.received) this.received = g.lastEnd;
    this.opts.onProgress?.({
      appliedLsn: formatLsn(g.lastEnd),
      sourceCommitAt: g.lastCommitAt,
      transactions: this.transactions,
      changes: this.changes,
      receivedLsn: formatLsn(this.received),
    });
  }
}
