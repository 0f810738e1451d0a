import type pg from 'pg';
import { isTransient } from '../../db/retry.js';
import { logger } from '../../log/logger.js';
import type { ReadBackAction } from '../../plan/model.js';
import { readDigests, recordVerified, sumDigests } from '../../state/checkpoints.js';
import { matches, readBack } from '../../verify/read-back.js';
import { sameRecipe } from '../../verify/expressions.js';
import type { RunContext } from './context.js';

/**
 * A copied table, once its copy (all its parts, when split) is done: reads it back on the target once and compares
 * it with the sum of its units' digests, recorded on every unit (verified = match | mismatch). Its own action, so
 * that the copy slot moves on to the next table while this reads beside the table's index builds. Units without a
 * complete digest leave the table to the verification, which then compares both sides; so does a read-back that
 * fails for a reason other than the connection (the copy itself succeeded).
 */
export async function readBackHandler(action: ReadBackAction, client: pg.Client, ctx: RunContext): Promise<void> {
  const digests = await readDigests(client, action.units);
  const sum = sumDigests(action.units, digests, action.digest, sameRecipe);
  if (!sum) {
    logger().debug({ table: action.address }, 'no complete copy digest: the verification compares both sides');
    return;
  }
  try {
    ctx.onMeasure?.(action, { kind: 'read-back', rows: 0, rowsTotal: sum.rows });
    const r = await readBack(client, action.table, action.digest, (rows) =>
      ctx.onMeasure?.(action, { kind: 'read-back', rows, rowsTotal: sum.rows }),
    );
    const verdict = matches(sum, r) ? 'match' : 'mismatch';
    await recordVerified(client, action.units, verdict);
    logger().debug({ table: action.address, rows: r.rows, verdict }, 'table read back');
  } catch (err) {
    if (typeof (err as { code?: unknown }).code !== 'string' || isTransient(err)) throw err;
    logger().warn(
      { table: action.address, sqlstate: (err as { code: string }).code },
      'reading the copied table back failed: the verification compares both sides for it',
    );
  }
}
