import type pg from 'pg';
import { copyTable, recordFailure } from '../../copy/engine.js';
import { isTransient } from '../../db/retry.js';
import { readDigests, recordVerified } from '../../state/checkpoints.js';
import { matches, readBack } from '../../verify/read-back.js';
import { sameRecipe } from '../../verify/expressions.js';
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
    // the copy proves itself: the target read back by the digest its batches took on the source
    await verifyCopiedUnit(action, client, (rows, rowsTotal) =>
      ctx.onMeasure?.(action, { kind: 'read-back', rows, rowsTotal }),
    );
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

/**
 * After a unit's last batch: reads its table back on the target and records whether it holds exactly what the
 * batches read on the source (verified = match | mismatch). A unit without a complete digest is left to the
 * verification, which then compares both sides; so is one whose read-back fails for a reason other than the
 * connection (the copy itself succeeded).
 */
async function verifyCopiedUnit(
  a: CopyTableAction,
  target: pg.ClientBase,
  onRows?: (rows: number, rowsTotal: number) => void,
): Promise<'match' | 'mismatch' | 'none'> {
  if (!a.digest) return 'none';
  const d = (await readDigests(target, [a.address])).get(a.address);
  if (!d || d.status !== 'done' || !sameRecipe(d.recipe, a.digest)) return 'none';
  try {
    // "verifying N rows" from the start of the read-back: its first chunk may take a while on a large table
    onRows?.(0, d.rows);
    const r = await readBack(target, a.table, a.digest, onRows && ((rows) => onRows(rows, d.rows)));
    const verdict = matches(d, r) ? 'match' : 'mismatch';
    await recordVerified(target, a.address, verdict);
    logger().debug({ unit: a.address, rows: r.rows, verdict }, 'unit read back');
    return verdict;
  } catch (err) {
    if (typeof (err as { code?: unknown }).code !== 'string' || isTransient(err)) throw err;
    logger().warn(
      { unit: a.address, sqlstate: (err as { code: string }).code },
      'reading the copied table back failed: the verification compares both sides for it',
    );
    return 'none';
  }
}
