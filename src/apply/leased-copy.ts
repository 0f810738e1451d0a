import type pg from 'pg';
import { copyTable, recordFailure } from '../copy/engine.js';
import { rangeOf } from '../copy/split.js';
import { PgshiftError } from '../errors/index.js';
import type { CopyTableAction } from '../plan/model.js';
import { logger } from '../log/logger.js';
import { failLease, type Lease, releaseLease } from '../state/work-units.js';
import type { LeaseKeeper } from './lease-keeper.js';

export interface LeasedCopyContext {
  /** The apply's lock, checked by every batch (the apply's own slots); a worker holds none. */
  readonly lockId?: string;
  readonly leaseMs: number;
  readonly keeper: LeaseKeeper;
  openSource(): Promise<pg.Client>;
  readonly signal?: AbortSignal;
  onProgress?(rows: number, bytes: number): void;
}

/**
 * What became of a claimed unit: copied to its end, lost (its lease expired and another claimer took it), or
 * failed (a value the target rejects: the unit is failed in the queue and in its checkpoint).
 */
export type LeasedOutcome =
  | { readonly kind: 'done'; readonly rows: number; readonly batches: number }
  | { readonly kind: 'lost' }
  | { readonly kind: 'failed'; readonly error: PgshiftError };

/**
 * Copies one claimed unit under its lease, with a source session of its own: each batch fences the lease (and the
 * apply's lock) in its transaction and the last marks the unit done there. Stopped between batches, the unit is
 * given back (queued) and INTERRUPTED thrown; a transient error gives it back too and passes through for a retry.
 */
export async function copyLeased(
  lease: Lease<CopyTableAction>,
  target: pg.Client,
  ctx: LeasedCopyContext,
): Promise<LeasedOutcome> {
  const a = lease.action;
  ctx.keeper.add(lease.leaseId, lease.unit);
  let source: pg.Client | undefined;
  try {
    source = await ctx.openSource();
    const range = await rangeOf(target, a);
    const result = await copyTable(a, target, {
      runId: lease.runId,
      ...(ctx.lockId ? { lockId: ctx.lockId } : {}),
      source,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(range ? { range } : {}),
      lease: { unit: lease.unit, leaseId: lease.leaseId, leaseMs: ctx.leaseMs },
      onProgress: (rows, bytes) => ctx.onProgress?.(rows, bytes),
    });
    logger().debug({ unit: a.address, rows: result.rows, batches: result.batches }, 'unit copied');
    if (result.stopped) {
      await releaseLease(target, lease).catch(() => undefined);
      throw new PgshiftError('INTERRUPTED', `${a.address}: stopped after ${result.rows} rows; it resumes from there`);
    }
    return { kind: 'done', rows: result.rows, batches: result.batches };
  } catch (err) {
    if (err instanceof PgshiftError && err.code === 'LEASE_LOST') return { kind: 'lost' };
    if (err instanceof PgshiftError && err.code === 'ACTION_FAILED') {
      if (source) await recordFailure(target, a, { runId: lease.runId, source }, err.message).catch(() => undefined);
      await failLease(target, lease, err.message).catch(() => undefined);
      return { kind: 'failed', error: err };
    }
    if (!(err instanceof PgshiftError && err.code === 'INTERRUPTED'))
      // a broken session cannot give it back: the next claim of this process takes it back (else it expires)
      await releaseLease(target, lease).catch(() => ctx.keeper.abandon(lease.leaseId, lease.unit));
    throw err;
  } finally {
    ctx.keeper.remove(lease.leaseId);
    await source?.end().catch(() => undefined);
  }
}
