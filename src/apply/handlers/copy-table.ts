import type pg from 'pg';
import { copyTable, recordFailure } from '../../copy/engine.js';
import { PgshiftError } from '../../errors/index.js';
import { logger } from '../../log/logger.js';
import type { CopyTableAction } from '../../plan/model.js';
import type { RunContext } from './context.js';

/** Copies one table (or partition) with its own source session. */
export async function copyTableHandler(action: CopyTableAction, client: pg.Client, ctx: RunContext): Promise<void> {
  if (!ctx.openSource) throw new PgshiftError('INTERNAL', `${action.address}: no source connection available`);
  const source = await ctx.openSource();
  try {
    const result = await copyTable(action, client, {
      runId: ctx.runId,
      lockId: ctx.lockId,
      source,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (rows, bytes) => ctx.onProgress?.(action, rows, bytes),
    });
    logger().debug(
      { unit: action.address, rows: result.rows, bytes: result.bytes, batches: result.batches },
      'unit copied',
    );
    if (result.stopped) {
      throw new PgshiftError(
        'INTERRUPTED',
        `${action.address}: stopped after ${result.rows} rows; the next apply resumes it`,
      );
    }
  } catch (err) {
    // a value the target rejects: the unit is failed in the state, with the error (no values in it)
    if (err instanceof PgshiftError && err.code === 'ACTION_FAILED') {
      await recordFailure(client, action, { runId: ctx.runId, source }, err.message).catch(() => undefined);
    }
    throw err;
  } finally {
    await source.end().catch(() => undefined);
  }
}
