import type pg from 'pg';
import { PgshiftError } from '../../errors/index.js';
import type { DropStreamAction } from '../../plan/model.js';
import { assertLockHeld } from '../../state/lock.js';
import { forgetStream, readStreams } from '../../state/stream.js';
import { restoreReplicaIdentities } from '../../stream/identity.js';
import { dropStream } from '../../stream/slot.js';
import type { RunContext } from './context.js';

/**
 * destroy: drops the change stream on the source (slot, publications: the state's names and the migration's), puts
 * back every replica identity pgshift set, then forgets the state rows. Each step is idempotent: a re-run after a
 * crash finishes what is left.
 */
export async function dropStreamHandler(action: DropStreamAction, client: pg.Client, ctx: RunContext): Promise<void> {
  await assertLockHeld(client, ctx.lockId, action.address);
  if (!ctx.openSource) throw new PgshiftError('INTERNAL', `${action.address}: no source connection available`);
  const source = await ctx.openSource();
  try {
    const names = { slot: action.slot, publication: action.publication, insertsPublication: action.insertsPublication };
    await dropStream(source, names);
    for (const row of await readStreams(client)) {
      await dropStream(source, {
        slot: row.slot,
        publication: row.publication,
        insertsPublication: row.insertsPublication ?? names.insertsPublication,
      });
      await forgetStream(client, row.slot);
    }
    await restoreReplicaIdentities(source, client);
  } finally {
    await source.end().catch(() => undefined);
  }
}
