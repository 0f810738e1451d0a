import type pg from 'pg';
import { withTransaction } from '../../db/connect.js';
import type { DropLargeObjectsAction } from '../../plan/model.js';
import { createdLargeObjects, forgetLargeObjects } from '../../state/large-objects.js';
import { assertLockHeld } from '../../state/lock.js';
import type { RunContext } from './context.js';

const BATCH = 1000;

/**
 * Unlinks the large objects pgshift created (pgshift.large_objects), a batch at a time: each batch's lo_unlink and
 * the removal of its records in one transaction, under the lock fence. An object already gone is only forgotten.
 */
export async function dropLargeObjects(
  action: DropLargeObjectsAction,
  client: pg.Client,
  ctx: RunContext,
): Promise<void> {
  for (;;) {
    const left = await withTransaction(client, async () => {
      await assertLockHeld(client, ctx.lockId, action.address);
      const oids = await createdLargeObjects(client, BATCH);
      await client.query(
        `SELECT pg_catalog.lo_unlink(m.oid) FROM pg_catalog.pg_largeobject_metadata m
          WHERE m.oid = ANY ($1::oid[]) ORDER BY m.oid`,
        [oids],
      );
      await forgetLargeObjects(client, oids);
      return oids.length;
    });
    if (left < BATCH) return;
  }
}
