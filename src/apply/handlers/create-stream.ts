import type pg from 'pg';
import { withTransaction } from '../../db/connect.js';
import { PgshiftError } from '../../errors/index.js';
import { logger } from '../../log/logger.js';
import type { CreateStreamAction, SetReplicaIdentityAction } from '../../plan/model.js';
import { assertLockHeld } from '../../state/lock.js';
import { readStreams, recordStream } from '../../state/stream.js';
import { setReplicaIdentityFull } from '../../stream/identity.js';
import { createStream, dropStream, slotStatus, type StreamNames } from '../../stream/slot.js';
import type { RunContext } from './context.js';

/** How long the slot's creation may wait for transactions already running on the source. */
export const SLOT_WAIT_MS = 120_000;

async function withSource<T>(ctx: RunContext, what: string, fn: (source: pg.Client) => Promise<T>): Promise<T> {
  if (!ctx.openSource) throw new PgshiftError('INTERNAL', `${what}: no source connection available`);
  const source = await ctx.openSource();
  try {
    return await fn(source);
  } finally {
    await source.end().catch(() => undefined);
  }
}

/**
 * Creates the change stream on the source (publications, then the slot: its consistent point comes before every
 * copy, which depends on this action) and records it in the state. A stream the state knows and the source still
 * has is kept (a re-run after a crash between the two is the other case: an unknown slot is re-created). If the
 * record fails, the new slot is dropped again: no slot is left behind that nobody knows.
 */
export async function createStreamHandler(
  action: CreateStreamAction,
  client: pg.Client,
  ctx: RunContext,
): Promise<void> {
  await assertLockHeld(client, ctx.lockId, action.address);
  const names: StreamNames = {
    slot: action.slot,
    publication: action.publication,
    insertsPublication: action.insertsPublication,
  };
  const usesInserts = action.tables.some((t) => t.mode === 'inserts');
  await withSource(ctx, action.address, async (source) => {
    const known = (await readStreams(client)).some((s) => s.slot === action.slot);
    if (known && (await slotStatus(source, action.slot)).exists) return;
    const { consistentLsn } = await createStream(source, names, action.tables, { waitMs: SLOT_WAIT_MS });
    try {
      await withTransaction(client, async () => {
        await assertLockHeld(client, ctx.lockId, action.address);
        await recordStream(client, {
          slot: action.slot,
          publication: action.publication,
          insertsPublication: usesInserts ? action.insertsPublication : null,
          consistentLsn,
          runId: ctx.runId,
        });
      });
    } catch (err) {
      await dropStream(source, names).catch((e: unknown) =>
        logger().error({ slot: action.slot, err: (e as Error).message }, 'could not drop the unrecorded slot'),
      );
      throw err;
    }
    logger().info({ slot: action.slot, consistentLsn }, 'change stream created on the source');
  });
}

/** Sets REPLICA IDENTITY FULL on source tables, recording each old identity in the state first (destroy restores). */
export async function setReplicaIdentityHandler(
  action: SetReplicaIdentityAction,
  client: pg.Client,
  ctx: RunContext,
): Promise<void> {
  await assertLockHeld(client, ctx.lockId, action.address);
  await withSource(ctx, action.address, (source) => setReplicaIdentityFull(source, client, action.tables));
}
