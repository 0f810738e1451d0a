/**
 * The follow loop: reads the slot and applies whole source transactions to the target, exactly once. Each target
 * transaction locks the applied position (FOR UPDATE), applies a group of whole source transactions, stores the END
 * LSN of the last one with them, commits, and only then confirms that LSN to the slot. A (re)start skips every
 * transaction at or below the stored position, whatever the slot resends.
 */
import type pg from 'pg';
import { connectClient, type SessionSettings } from '../db/connect.js';
import type { ResolvedEndpoint } from '../db/endpoint.js';
import { PgshiftError, isPgshiftError } from '../errors/index.js';
import { assertLockHeld } from '../state/lock.js';
import { copySnapshots, lockAppliedPosition, markStream, readStreams, storeAppliedPosition } from '../state/stream.js';
import { Applier, type ApplierTable } from './applier.js';
import { decodePgoutput, formatLsn, parseLsn } from './pgoutput.js';
import { ReplicationSession } from './replication.js';
import { parseSnapshot } from './visibility.js';

export interface FollowTable {
  readonly source: { readonly schema: string; readonly name: string };
  readonly target: { readonly schema: string; readonly name: string };
  /** key columns as the target spells them (same names on the source unless mapped); null: keyless */
  readonly key: readonly string[] | null;
}

export interface FollowOptions {
  readonly source: ResolvedEndpoint;
  readonly target: ResolvedEndpoint;
  readonly settings: SessionSettings;
  readonly slot: string;
  readonly publications: readonly string[];
  readonly tables: readonly FollowTable[];
  /** stop once a source transaction ending at or past this LSN is committed on the target (cutover fence) */
  readonly untilLsn?: string;
  /** or stop when aborted (SIGINT): finish or roll back the open target transaction, then return */
  readonly signal?: AbortSignal;
  /** called after every target commit */
  onProgress?(p: FollowProgress): void;
  /** the apply/cutover lock id: every target transaction checks the lock fence (assertLockHeld, src/state/lock.ts) */
  readonly lockId?: string;
  /** group source transactions into one target transaction up to this many changes / this many ms */
  readonly maxBatchChanges?: number;
  readonly maxBatchMs?: number;
  /** frames the replication session buffers before it stops reading the socket (default 256) */
  readonly highWaterMark?: number;
}

export interface FollowProgress {
  appliedLsn: string;
  sourceCommitAt: Date | null;
  transactions: number;
  changes: number;
  receivedLsn: string;
}

export interface FollowResult {
  appliedLsn: string | null;
  transactions: number;
  changes: number;
  stoppedBy: 'until' | 'signal';
  warnings: string[];
}

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

/** Turns on session_replication_role = replica (user triggers and FK triggers stay quiet) when the role may. */
async function quietTriggers(target: pg.ClientBase, warnings: string[]): Promise<void> {
  try {
    await target.query('SET session_replication_role = replica');
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err;
    warnings.push(
      "the target role may not set session_replication_role: the target's user triggers fire again for streamed rows",
    );
  }
}

async function applierTables(target: pg.ClientBase, tables: readonly FollowTable[]): Promise<ApplierTable[]> {
  const snaps = await copySnapshots(target);
  return tables.map((t) => {
    const text =
      snaps.get(`copy ${t.target.schema}.${t.target.name}`) ?? snaps.get(`copy ${t.source.schema}.${t.source.name}`);
    return { ...t, snapshot: t.key === null && text ? parseSnapshot(text) : null };
  });
}

export async function follow(opts: FollowOptions): Promise<FollowResult> {
  const warnings: string[] = [];
  const target = await connectClient(opts.target, opts.settings);
  let session: ReplicationSession | undefined;
  try {
    await quietTriggers(target, warnings);
    const row = (await readStreams(target)).find((s) => s.slot === opts.slot);
    if (!row) {
      throw new PgshiftError('STREAM_STATE_MISSING', `the target's state has no stream for slot ${opts.slot}`, {
        hint: 'Run `pgshift apply`: it creates the slot and records it before the first row is copied.',
      });
    }
    const applier = new Applier(target, await applierTables(target, opts.tables));
    const start = row.appliedLsn ? parseLsn(row.appliedLsn) : 0n;
    session = await ReplicationSession.start({
      source: opts.source,
      settings: opts.settings,
      slot: opts.slot,
      publications: opts.publications,
      startLsn: start,
      ...(opts.highWaterMark ? { highWaterMark: opts.highWaterMark } : {}),
    });
    const loop = new FollowLoop(opts, target, session, applier, start);
    const stoppedBy = await loop.run();
    await markStream(target, opts.slot, 'stopped');
    return {
      appliedLsn: loop.applied > 0n ? formatLsn(loop.applied) : null,
      transactions: loop.transactions,
      changes: loop.changes,
      stoppedBy,
      warnings,
    };
  } catch (err) {
    const message = isPgshiftError(err) ? err.message : 'the stream stopped on an unexpected error';
    await markStream(target, opts.slot, 'failed', message).catch(() => undefined);
    throw err;
  } finally {
    await session?.close();
    await target.end().catch(() => undefined);
  }
}

interface SourceTx {
  readonly xid: number;
  readonly skip: boolean;
  readonly savepoint: boolean;
  changes: number;
}

/** One run of the loop; its fields are the totals the result reports. */
class FollowLoop {
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
