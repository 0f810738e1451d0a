import type pg from 'pg';
import type { Action } from '../../plan/model.js';
import type { VerifyReport } from '../../verify/report.js';

export interface RunContext {
  readonly runId: string;
  /** The target lock this run holds: every action checks it still does before its effect (assertLockHeld). */
  readonly lockId: string;
  /** Opens a source session (with session settings and retries); the handler closes it. */
  openSource?(): Promise<pg.Client>;
  readonly signal?: AbortSignal;
  onProgress?(action: Action, rows: number, bytes: number): void;
  /** Runs the verification policy of the config (the verify action). */
  verify?(target: pg.Client): Promise<VerifyReport>;
}
