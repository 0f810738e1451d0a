import type pg from 'pg';
import type { Action } from '../../plan/model.js';
import type { ActionMeasure } from '../executor.js';
import type { RunContext } from './context.js';

export type SessionProgress = Extract<ActionMeasure, { kind: 'session' }>;

interface Row {
  wait_event_type: string | null;
  wait_event: string | null;
  phase: string | null;
  blocks_total: string | null;
  blocks_done: string | null;
  tuples_total: string | null;
  tuples_done: string | null;
  lockers_total: string | null;
  lockers_done: string | null;
  partitions_total: string | null;
  partitions_done: string | null;
}

/**
 * What a backend is doing: the lock it waits for, and the progress of its CREATE INDEX (or of the index of a
 * primary key or unique constraint) from pg_stat_progress_create_index. Null when the backend is gone.
 */
export async function readSessionProgress(client: pg.ClientBase, pid: number): Promise<SessionProgress | null> {
  const r = await client.query<Row>(
    `SELECT a.wait_event_type, a.wait_event, p.phase,
            p.blocks_total::text, p.blocks_done::text, p.tuples_total::text, p.tuples_done::text,
            p.lockers_total::text, p.lockers_done::text, p.partitions_total::text, p.partitions_done::text
       FROM pg_catalog.pg_stat_activity a
       LEFT JOIN pg_catalog.pg_stat_progress_create_index p ON p.pid = a.pid
      WHERE a.pid = $1`,
    [pid],
  );
  const row = r.rows[0];
  if (!row) return null;
  const n = (v: string | null): number => Number(v ?? 0);
  // the figure that moves in the build's phase: lockers waited for, blocks scanned, tuples sorted or loaded
  const pick = ((): Pick<SessionProgress, 'done' | 'total' | 'unit'> => {
    if (row.phase === null) return { done: 0, total: 0, unit: null };
    if (/waiting for/.test(row.phase) && n(row.lockers_total) > 0)
      return { done: n(row.lockers_done), total: n(row.lockers_total), unit: 'lockers' };
    if (n(row.blocks_total) > 0 && /scanning/.test(row.phase))
      return { done: n(row.blocks_done), total: n(row.blocks_total), unit: 'blocks' };
    if (n(row.tuples_total) > 0) return { done: n(row.tuples_done), total: n(row.tuples_total), unit: 'tuples' };
    if (n(row.partitions_total) > 0)
      return { done: n(row.partitions_done), total: n(row.partitions_total), unit: 'partitions' };
    return { done: 0, total: 0, unit: null };
  })();
  return {
    kind: 'session',
    phase: row.phase,
    ...pick,
    waiting: row.wait_event_type === 'Lock' ? `a lock (${row.wait_event ?? 'unknown'})` : null,
  };
}

/**
 * While a long statement runs on a worker's session: its progress, read every `everyMs` on another session of the
 * run (ctx.readSession) and reported as a measure. Returns the stop function. Short actions end before the first
 * read and cost no query; a read that fails (the control session lost) stops the watch, never the action.
 */
export function watchSession(action: Action, worker: pg.Client, ctx: RunContext, everyMs = 500): () => void {
  const pid = (worker as unknown as { processID?: number | null }).processID;
  if (!ctx.readSession || !ctx.onMeasure || typeof pid !== 'number') return () => undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = async (): Promise<void> => {
    try {
      const p = await ctx.readSession?.(pid);
      if (stopped) return;
      if (p) ctx.onMeasure?.(action, p);
      timer = setTimeout(() => void poll(), everyMs);
    } catch {
      stopped = true;
    }
  };
  timer = setTimeout(() => void poll(), everyMs);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
