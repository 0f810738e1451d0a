import type pg from 'pg';
import type { ActionMeasure } from '../executor.js';
import type { Action } from '../../plan/model.js';
import type { VerifyReport } from '../../verify/report.js';
import type { SessionProgress } from './session-progress.js';
import type { LeaseKeeper } from '../lease-keeper.js';

/** The run's queue of copy units (pgshift.work_units), shared with any `pgshift worker`. */
export interface UnitQueue {
  /** Who claims, as the queue shows it (`apply <run id>`). */
  readonly owner: string;
  readonly leaseMs: number;
  readonly keeper: LeaseKeeper;
  /** How long a slot waits before it looks at the queue again, when a worker holds its unit and nothing is free. */
  readonly pollMs: number;
  /** The plan's action of a unit (progress of a unit copied by another unit's slot shows on its own line). */
  actionOf(unit: string): Action | undefined;
}

export interface RunContext {
  readonly runId: string;
  /** The target lock this run holds: every action checks it still does before its effect (assertLockHeld). */
  readonly lockId: string;
  /** Opens a source session (with session settings and retries); the handler closes it. */
  openSource?(): Promise<pg.Client>;
  readonly signal?: AbortSignal;
  /** An attaching build's index is built: it waits for the table now (the executor starts no other holder of it). */
  onAttachPending?(): void;
  onProgress?(action: Action, rows: number, bytes: number): void;
  /** A moving figure of a running action other than a copy's rows (read-back, verification, build progress). */
  onMeasure?(action: Action, measure: ActionMeasure): void;
  /**
   * What a worker's target session is doing (by backend pid), read on a session the run already holds (the
   * control session): a worker's own session is busy with the statement it reports on.
   */
  readSession?(pid: number): Promise<SessionProgress | null>;
  /** The queue of copy units: copies are claimed there (absent: each copy action copies its unit itself). */
  readonly queue?: UnitQueue;
  /** Runs the verification policy of the config (the verify action). */
  verify?(target: pg.Client): Promise<VerifyReport>;
}
