import type pg from 'pg';
import { copyTable, recordFailure } from '../../copy/engine.js';
import { claimUnit, type Lease, markReady, readUnits } from '../../state/work-units.js';
import { PgshiftError } from '../../errors/index.js';
import { logger } from '../../log/logger.js';
import type { CopyTableAction } from '../../plan/model.js';
import { copyLeased, type LeasedOutcome } from '../leased-copy.js';
import type { RunContext, UnitQueue } from './context.js';
import { sleep } from '../sleep.js';

/**
 * Copies one unit (a table, a partition, or a part of a split table). With the run's queue (pgshift.work_units):
 * the unit is made ready and claimed; when a `pgshift worker` holds it, this slot copies other ready units meanwhile
 * and returns once the unit is done, whoever copied it. Its table is read back by its read_back action.
 */
export async function copyTableHandler(action: CopyTableAction, client: pg.Client, ctx: RunContext): Promise<void> {
  if (ctx.queue) await copyQueued(action, client, ctx, ctx.queue);
  else await copyDirect(action, client, ctx);
}

async function copyDirect(action: CopyTableAction, client: pg.Client, ctx: RunContext): Promise<void> {
  if (!ctx.openSource) throw new PgshiftError('INTERNAL', `${action.address}: no source connection available`);
  const source = await ctx.openSource();
  try {
    const result = await copyTable(action, client, {
      runId: ctx.runId,
      lockId: ctx.lockId,
      source,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (rows, bytes) => ctx.onProgress?.(action, rows, bytes),
    });
    logger().debug(
      { unit: action.address, rows: result.rows, bytes: result.bytes, batches: result.batches },
      'unit copied',
    );
    if (result.stopped) {
      throw new PgshiftError(
        'INTERRUPTED',
        `${action.address}: stopped after ${result.rows} rows; the next apply resumes it`,
      );
    }
  } catch (err) {
    // a value the target rejects: the unit is failed in the state, with the error (no values in it)
    if (err instanceof PgshiftError && err.code === 'ACTION_FAILED') {
      await recordFailure(client, action, { runId: ctx.runId, source }, err.message).catch(() => undefined);
    }
    throw err;
  } finally {
    await source.end().catch(() => undefined);
  }
}

const UNLOCKED_RETRY_MS = 20;

async function copyQueued(action: CopyTableAction, client: pg.Client, ctx: RunContext, q: UnitQueue): Promise<void> {
  if (!ctx.openSource) throw new PgshiftError('INTERNAL', `${action.address}: no source connection available`);
  const openSource = ctx.openSource.bind(ctx);
  const run = (lease: Lease<CopyTableAction>): Promise<LeasedOutcome> => {
    const shown = q.actionOf(lease.unit) ?? lease.action;
    return copyLeased(lease, client, {
      lockId: ctx.lockId,
      leaseMs: q.leaseMs,
      keeper: q.keeper,
      openSource,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (rows, bytes) => ctx.onProgress?.(shown, rows, bytes),
    });
  };
  for (;;) {
    if (ctx.signal?.aborted)
      throw new PgshiftError('INTERRUPTED', `${action.address}: stopped; the next apply resumes it`);
    // its dependencies are done (the executor started it): anyone may take it from now on
    await markReady(client, [action.id]);
    const own = await claimUnit<CopyTableAction>(client, {
      owner: q.owner,
      leaseMs: q.leaseMs,
      unit: action.id,
      reclaim: q.keeper.reclaimable(action.id),
    });
    if (own) {
      const r = await run(own);
      if (r.kind === 'done') return;
      if (r.kind === 'failed') throw r.error;
      continue; // lost: someone else has it now
    }
    const unit = (await readUnits(client, action.id))[0];
    if (!unit) throw new PgshiftError('INTERNAL', `${action.address}: not in the queue of this run`);
    if (unit.status === 'done') {
      // copied by a worker (or by another slot of this run): its rows from its checkpoint, for the progress view
      const cp = await client.query<{ rows: string; bytes: string }>(
        'SELECT rows_copied::text AS rows, bytes_copied::text AS bytes FROM pgshift.migration_checkpoints WHERE unit = $1',
        [action.id],
      );
      const row = cp.rows[0];
      if (row) ctx.onProgress?.(action, Number(row.rows), Number(row.bytes));
      return;
    }
    if (unit.status === 'failed') {
      throw new PgshiftError('ACTION_FAILED', `${action.address}: ${unit.error ?? 'failed on a worker'}`, {
        hint: 'Fix the cause on the target (or the source definition), then run `pgshift apply` again: finished work is kept.',
      });
    }
    if (unit.status === 'queued') {
      // nobody holds it: its row was only locked for a moment (another session marking units ready), which the
      // claim's SKIP LOCKED skipped. Claim it again rather than copy another unit first (the order is the plan's)
      await sleep(UNLOCKED_RETRY_MS, ctx.signal);
      continue;
    }
    // held by a live lease elsewhere (a worker, or a claimer of an earlier run not yet expired): help meanwhile
    const other = await claimUnit<CopyTableAction>(client, {
      owner: q.owner,
      leaseMs: q.leaseMs,
      reclaim: q.keeper.reclaimable(),
    });
    if (other) {
      // its own action reports a failure (it finds the unit failed in the queue)
      await run(other);
      continue;
    }
    await sleep(q.pollMs, ctx.signal);
  }
}
