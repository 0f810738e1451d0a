import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Config } from '../config/types.js';
import { connectClient } from '../db/connect.js';
import { endpoints, sessionSettings } from '../db/endpoints.js';
import { assertSessionPooling } from '../db/pooler.js';
import { isTransient } from '../db/retry.js';
import { PgshiftError } from '../errors/index.js';
import { logger } from '../log/logger.js';
import type { CopyTableAction } from '../plan/model.js';
import { readLockHolder, type LockHolder } from '../state/lock.js';
import { stateDb } from '../state/db.js';
import { stateExists } from '../state/migrations.js';
import { claimUnit, readUnits, unitsLeft } from '../state/work-units.js';
import { copyLeased } from './leased-copy.js';
import { LeaseKeeper, Serial } from './lease-keeper.js';
import { sleep } from './sleep.js';

export interface WorkerOptions {
  readonly config: Config;
  /** Units copied at once by this worker (each takes a session on each side); default 1. */
  readonly parallel?: number;
  readonly signal?: AbortSignal;
  /** How long the worker waits for a new apply when the one it joined is gone with units left (ms). */
  readonly applyGoneMs?: number;
  /** How often an idle worker looks at the queue again (ms). */
  readonly pollMs?: number;
}

export interface WorkerUnit {
  readonly unit: string;
  readonly outcome: 'done' | 'lost' | 'failed';
  readonly rows: number;
  readonly error?: string;
}

export interface WorkerResult {
  /** Who this worker claimed as (the queue's lease owner). */
  readonly owner: string;
  /** The apply run it joined (the lock holder's run when it started). */
  readonly joined: string;
  readonly units: readonly WorkerUnit[];
  readonly stopped: boolean;
}

const applying = (h: LockHolder | undefined): boolean => h !== undefined && h.alive && h.command === 'apply';

function noApply(what: string): PgshiftError {
  return new PgshiftError('NO_APPLY_RUNNING', what, {
    hint: 'Start `pgshift apply` for this migration (it holds the target lock while it runs), then start the workers; `pgshift status` shows the lock holder.',
  });
}

/**
 * `pgshift worker`: joins the running apply of this migration (found by the target's lock holder row) and takes
 * copy units from its queue until none is left. Each unit is claimed under a lease (FOR UPDATE SKIP LOCKED) and
 * copied in checkpointed batches, every batch fencing the lease in its own transaction; a unit the apply or another
 * worker holds is never touched, and a dead claimer's unit is taken over once its lease expired. The worker holds
 * no lock: what must run once (schema, indexes, verification, cutover) stays with the apply.
 */
export async function runWorker(opts: WorkerOptions): Promise<WorkerResult> {
  const { config } = opts;
  const eps = endpoints(config);
  const session = sessionSettings(config);
  await assertSessionPooling([eps.source, eps.target], session);
  const control = await connectClient(eps.target, session);
  const owner = `worker ${hostname()} pid ${process.pid} ${randomBytes(3).toString('hex')}`;
  const serial = new Serial(control);
  const keeper = new LeaseKeeper(serial, config.copy.leaseMs);
  const units: WorkerUnit[] = [];
  const pollMs = opts.pollMs ?? 250;
  const applyGoneMs = opts.applyGoneMs ?? Math.max(10_000, 2 * config.copy.leaseMs);
  try {
    const holder = (await stateExists(stateDb(control))) ? await readLockHolder(control) : undefined;
    if (!holder || !applying(holder)) {
      throw noApply(
        holder?.alive
          ? `the target's lock is held by ${holder.command} run ${holder.runId}, not by an apply: nothing to join`
          : 'no apply of this migration is running on the target (nobody holds its lock): nothing to join',
      );
    }
    const joined = holder.runId;
    if (!(await serial.run((c) => hasQueue(c)))) {
      throw noApply(`apply run ${joined} has no queue of copy units (an older pgshift?)`);
    }
    logger().info({ owner, run: joined }, 'worker joined the apply');
    let lastApplySeen = Date.now();
    let lastRun = joined;
    const loop = async (): Promise<void> => {
      let client: pg.Client | undefined;
      try {
        for (;;) {
          if (opts.signal?.aborted) return;
          client ??= await connectClient(eps.target, session);
          let lease;
          try {
            lease = await claimUnit<CopyTableAction>(client, {
              owner,
              leaseMs: config.copy.leaseMs,
              reclaim: keeper.reclaimable(),
            });
            if (lease) {
              logger().info({ unit: lease.unit, owner }, 'unit claimed');
              const r = await copyLeased(lease, client, {
                leaseMs: config.copy.leaseMs,
                keeper,
                openSource: () => connectClient(eps.source, session),
                ...(opts.signal ? { signal: opts.signal } : {}),
              });
              if (r.kind === 'done') units.push({ unit: lease.unit, outcome: 'done', rows: r.rows });
              else if (r.kind === 'lost') units.push({ unit: lease.unit, outcome: 'lost', rows: 0 });
              else units.push({ unit: lease.unit, outcome: 'failed', rows: 0, error: r.error.message });
              logger().info({ unit: lease.unit, outcome: r.kind }, 'unit ended');
              continue;
            }
          } catch (err) {
            if (err instanceof PgshiftError && err.code === 'INTERRUPTED') return;
            if (!isTransient(err) || opts.signal?.aborted) throw err;
            // the session (or the source's) broke: the unit was given back; a new session takes the next one
            logger().warn({ reason: (err as Error).message }, 'a copy session was lost; the worker goes on');
            await client.end().catch(() => undefined);
            client = undefined;
            await sleep(500, opts.signal);
            continue;
          }
          // nothing to claim now: done when no unit is left of the live apply's queue (or no apply is left at all)
          const [left, h] = await serial.run(async (c) => [await unitsLeft(c), await readLockHolder(c)] as const);
          const runs = await serial.run((c) => queueRuns(c));
          if (h && applying(h)) {
            lastApplySeen = Date.now();
            lastRun = h.runId;
            // the apply queued its units (its run's queue): none left is the end; else it is still planning
            if (left === 0 && runs.includes(h.runId)) return;
          } else {
            if (left === 0) return;
            if (Date.now() - lastApplySeen > applyGoneMs)
              throw noApply(
                `the apply (run ${lastRun}) is gone with ${left} copy unit(s) left that wait for it; run \`pgshift apply\` again and restart the workers`,
              );
          }
          await sleep(pollMs, opts.signal);
        }
      } finally {
        await client?.end().catch(() => undefined);
      }
    };
    const n = Math.max(1, opts.parallel ?? 1);
    const results = await Promise.allSettled(Array.from({ length: n }, () => loop()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { owner, joined, units, stopped: opts.signal?.aborted === true };
  } finally {
    keeper.stop();
    await serial.run((c) => (c as pg.Client).end()).catch(() => undefined);
  }
}

async function hasQueue(c: pg.ClientBase): Promise<boolean> {
  const r = await c.query<{ ok: boolean }>(`SELECT to_regclass('pgshift.work_units') IS NOT NULL AS ok`);
  return r.rows[0]?.ok === true;
}

async function queueRuns(c: pg.ClientBase): Promise<string[]> {
  return (await readUnits(c)).map((u) => u.runId);
}
