import type pg from 'pg';
import { isTransient } from '../../db/retry.js';
import { logger } from '../../log/logger.js';
import type { ReadBackAction } from '../../plan/model.js';
import { readDigests, recordVerified, sumDigests } from '../../state/checkpoints.js';
import { matches, readBack } from '../../verify/read-back.js';
import { sameRecipe } from '../../verify/expressions.js';
import type { RunContext } from './context.js';

/**
 * A split table, once all its parts are copied: reads it back on the target once and compares it with the sum of
 * its parts' digests, recorded on every part (verified = match | mismatch). Parts without a complete digest leave the
 * table to the verification, which then compares both sides.
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
