import type pg from 'pg';
import { copyTable } from '../../copy/engine.js';
import { PgshiftError } from '../../errors/index.js';
import type { CopyTableAction } from '../../plan/model.js';
import type { RunContext } from './context.js';

/** Copies one table (or partition) with its own source session. */
export async function copyTableHandler(action: CopyTableAction, client: pg.Client, ctx: RunContext): Promise<void> {
  if (!ctx.openSource) throw new PgshiftError('INTERNAL', `${action.address}: no source connection available`);
  const source = await ctx.openSource();
  try {
    const result = await copyTable(action, client, {
      runId: ctx.runId,
      source,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (rows, bytes) => ctx.onProgress?.(action, rows, bytes),
    });
    if (result.stopped) {
      throw new PgshiftError('INTERRUPTED', `${action.address}: stopped after ${result.rows} rows; the next apply resumes it`);
    }
  } finally {
    await source.end().catch(() => undefined);
  }
}
