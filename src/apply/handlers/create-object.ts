import type pg from 'pg';
import { DDL_SESSION_SQL } from '../../catalog/session.js';
import { withTransaction } from '../../db/connect.js';
import type { CreateObjectAction } from '../../plan/model.js';
import { deleteCheckpoint } from '../../state/checkpoints.js';
import { assertLockHeld } from '../../state/lock.js';
import { recordObject } from '../../state/objects.js';
import type { RunContext } from './context.js';
import { watchSession } from './session-progress.js';

/** Creates one schema object and records it in pgshift.objects, in ONE transaction, under the lock fence. */
export async function createObject(action: CreateObjectAction, client: pg.Client, ctx: RunContext): Promise<void> {
  // an index or constraint build can take minutes: its progress (or the lock it waits for) while it runs
  const stop = watchSession(action, client, ctx);
  try {
    await build(action, client, ctx);
  } finally {
    stop();
  }
}

async function build(action: CreateObjectAction, client: pg.Client, ctx: RunContext): Promise<void> {
  await withTransaction(client, async () => {
    await assertLockHeld(client, ctx.lockId, action.address);
    await client.query(DDL_SESSION_SQL);
    for (const stmt of action.sql) await client.query(stmt);
    if (action.objectKind === 'table' && action.change === 'create') {
      // a (re-)created table holds no row: a checkpoint left from an earlier life of it must not skip its copy
      await deleteCheckpoint(client, `copy ${action.address.slice('table '.length)}`);
    }
    await recordObject(client, {
      address: action.address,
      kind: action.objectKind,
      definitionHash: action.definitionHash,
      runId: ctx.runId,
    });
  });
}
