import type pg from 'pg';
import { raiseSequenceTo, readSequencePosition, type SequencePosition } from '../../catalog/sequence-value.js';
import { DDL_SESSION_SQL } from '../../catalog/session.js';
import { withTransaction } from '../../db/connect.js';
import type { SetSequenceValueAction } from '../../plan/model.js';
import { assertLockHeld } from '../../state/lock.js';
import type { RunContext } from './context.js';

/** The source sequence's value now: a live source has moved it on since the plan was made. */
async function currentValue(action: SetSequenceValueAction, ctx: RunContext): Promise<SequencePosition | undefined> {
  if (!action.sequence || !ctx.openSource) return undefined;
  const source = await ctx.openSource();
  try {
    return await readSequencePosition(source, action.sequence);
  } catch {
    return undefined; // e.g. a schema mapped by schemas.map: the value the plan read is used
  } finally {
    await source.end().catch(() => undefined);
  }
}

/**
 * Sets a sequence to the source's last_value/is_called (never max(id)), read when the action runs: it waits for
 * the copies of the tables using the sequence, so the value covers every row they copied even on a live source.
 * Never lowers it: a target already at or past the source's value (the application took values there) is kept. The
 * setval commits with the lock fence's check (a setval is not rolled back, so the check comes first).
 */
export async function setSequenceValue(
  action: SetSequenceValueAction,
  client: pg.Client,
  ctx: RunContext,
): Promise<void> {
  const now = (await currentValue(action, ctx)) ?? action.value;
  await withTransaction(client, async () => {
    await assertLockHeld(client, ctx.lockId, action.address);
    await client.query(DDL_SESSION_SQL);
    if (now && action.sequence) {
      // never lowers it (greatest of the target's and the source's, in the sequence's direction)
      await raiseSequenceTo(client, action.sequence, now);
      return;
    }
    // an action made by hand (no sequence named): its statements as they are
    for (const stmt of action.sql) await client.query(stmt);
  });
}
