import type pg from 'pg';
import { PgshiftError } from '../../errors/index.js';
import type { VerifyAction } from '../../plan/model.js';
import { assertLockHeld } from '../../state/lock.js';
import { differing } from '../../verify/report.js';
import type { RunContext } from './context.js';
import { watchSession } from './session-progress.js';

/** The verification gate at the end of apply: differences fail the action with VERIFY_DIFFERENCES (exit 3). */
export async function verifyHandler(action: VerifyAction, client: pg.Client, ctx: RunContext): Promise<void> {
  if (!ctx.verify) throw new PgshiftError('INTERNAL', 'verify: no verification available in this run');
  // its effect is the report it stores and the gate it decides: not for a run that lost the lock
  await assertLockHeld(client, ctx.lockId, 'verify');
  // the lock a read waits for shows while the verification runs (its rows checked come from ctx.verify)
  const stop = watchSession(action, client, ctx);
  const report = await ctx.verify(client).finally(stop);
  if (!report.ok) {
    throw new PgshiftError('VERIFY_DIFFERENCES', `verify: ${differing(report.summary)} differ (report ${report.id})`, {
      hint: 'Run `pgshift verify` for the details.',
    });
  }
}
