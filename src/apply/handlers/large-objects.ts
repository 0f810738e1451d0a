import type pg from 'pg';
import { copyLargeObjects } from '../../copy/large-objects.js';
import { PgshiftError } from '../../errors/index.js';
import { logger } from '../../log/logger.js';
import type { LargeObjectsAction } from '../../plan/model.js';
import type { RunContext } from './context.js';

/** Copies the source's large objects (src/copy/large-objects.ts) with its own source session. */
export async function largeObjectsHandler(
  action: LargeObjectsAction,
  client: pg.Client,
  ctx: RunContext,
): Promise<void> {
  if (!ctx.openSource) throw new PgshiftError('INTERNAL', `${action.address}: no source connection available`);
  const source = await ctx.openSource();
  try {
    const result = await copyLargeObjects(action, client, {
      runId: ctx.runId,
      lockId: ctx.lockId,
      source,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (objects, bytes) => ctx.onProgress?.(action, objects, bytes),
    });
    logger().debug(
      { unit: action.address, objects: result.objects, bytes: result.bytes, batches: result.batches },
      'large objects copied',
    );
    if (result.stopped)
      throw new PgshiftError(
        'INTERRUPTED',
        `${action.address}: stopped after ${result.objects} objects; the next apply resumes after the last batch`,
      );
  } finally {
    await source.end().catch(() => undefined);
  }
}
