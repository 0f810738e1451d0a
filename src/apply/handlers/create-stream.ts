import type pg from 'pg';
import { withTransaction } from '../../db/connect.js';
import { PgshiftError } from '../../errors/index.js';
import { logger } from '../../log/logger.js';
import { scrub } from '../../log/redact.js';
import type { CreateStreamAction, SetReplicaIdentityAction } from '../../plan/model.js';
import { assertLockHeld } from '../../state/lock.js';
import { readStreams, recordStream } from '../../state/stream.js';
import { identityStatement, setReplicaIdentityFull } from '../../stream/identity.js';
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
    const { consistentLsn } = await createStream(source, names, action.tables, { waitMs: SLOT_WAIT_MS }).catch(
      (err: unknown) => {
        const code = (err as { code?: unknown }).code;
        if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) throw err;
        // the server's words about the publication or the slot (no row value is involved in creating them)
        throw new PgshiftError(
          'ACTION_FAILED',
          `${action.address}: creating the change stream on the source failed: ${scrub((err as Error).message)} (SQLSTATE ${code})`,
          {
            hint: 'Fix the cause on the source (or set cutover.strategy: freeze), then run `pgshift apply` again.',
            cause: err,
          },
        );
      },
    );
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
  // the target's table reads the same (schema parity; the next plan sees no drift)
  await withTransaction(client, async () => {
    await assertLockHeld(client, ctx.lockId, action.address);
    for (const t of action.targetTables) {
      const r = await client.query<{ ident: string }>(
        `SELECT c.relreplident AS ident FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = $2`,
        [t.schema, t.name],
      );
      if (r.rows[0] && r.rows[0].ident !== 'f') await client.query(identityStatement(t, 'f'));
    }
  });
}
