import type pg from 'pg';
import type { Action } from '../../plan/model.js';

export interface RunContext {
  readonly runId: string;
  /** Opens a source session (with session settings and retries); the handler closes it. */
  openSource?(): Promise<pg.Client>;
  readonly signal?: AbortSignal;
  onProgress?(action: Action, rows: number, bytes: number): void;
}
