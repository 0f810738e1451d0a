import type pg from 'pg';
import { withTransaction } from '../../db/connect.js';
import type { DropObjectAction } from '../../plan/model.js';
import { assertLockHeld } from '../../state/lock.js';
import { forgetObjects } from '../../state/objects.js';
import type { RunContext } from './context.js';

/**
 * Drops one object pgshift created (destroy) and removes its record from pgshift.objects, in ONE transaction, under
 * the lock fence. Never CASCADE: a drop that would touch an object pgshift did not create fails, and the object is kept.
 */
export async function dropObject(action: DropObjectAction, client: pg.Client, ctx: RunContext): Promise<void> {
  await withTransaction(client, async () => {
    await assertLockHeld(client, ctx.lockId, action.address);
    for (const stmt of action.sql) await client.query(stmt);
    await forgetObjects(client, [action.address]);
  });
}
