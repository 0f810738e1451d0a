import type pg from 'pg';
import { introspect } from '../catalog/introspect.js';
import { orderForCreate } from '../catalog/order.js';
import type { CatalogObject } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { connectClient, withTransaction } from '../db/connect.js';
import { assertSessionPooling } from '../db/pooler.js';
import { describeServerError } from '../db/server-error.js';
import { endpoints, sessionSettings } from '../db/endpoints.js';
import { forgetObjects } from '../state/objects.js';
import { acquireLock } from '../state/lock.js';
import { dropState } from '../state/migrations.js';
import { currentOperator, newRunId } from '../state/runs.js';
import { readState } from '../state/snapshot.js';
import { dropSql } from './drop-sql.js';
import { cutOverTo } from '../state/cutover.js';
import { freezeStatus, unfreezeWrites, type FreezeStatus } from '../cutover/freeze.js';
import { faultPoint } from '../cutover/steps.js';
import { PgshiftError } from '../errors/index.js';
import { logger } from '../log/logger.js';
import { scrub } from '../log/redact.js';

export interface DestroyItem {
  readonly address: string;
  readonly sql: readonly string[];
}

export interface DestroyPlan {
  readonly target: string;
  /** What pgshift created and will drop, dependents first. */
  readonly items: readonly DestroyItem[];
  /** Objects recorded in the state but no longer on the target (their records are removed). */
  readonly gone: readonly string[];
  readonly stateSchema: boolean;
}

export interface DestroyResult {
  readonly plan: DestroyPlan;
  readonly status: 'nothing' | 'cancelled' | 'destroyed' | 'partial';
  readonly dropped: readonly string[];
  /** Left in place: dropping them would have touched objects pgshift did not create. */
  readonly kept: ReadonlyArray<{ readonly address: string; readonly reason: string }>;
}

/** Exactly what pgshift created (the addresses in pgshift.objects), found on the target, dependents first. */
export function destroyPlan(target: readonly CatalogObject[], recorded: ReadonlySet<string>, display: string, stateExists: boolean): DestroyPlan {
  const mine = target.filter((o) => recorded.has(o.address));
  const onTarget = new Set(target.map((o) => o.address));
  const items = orderForCreate(mine)
    .reverse()
    .map((o) => ({ address: o.address, sql: dropSql(o) }));
  return { target: display, items, gone: [...recorded].filter((a) => !onTarget.has(a)).sort(), stateSchema: stateExists };
}

const IN_FORCE: ReadonlyArray<FreezeStatus['state']> = ['active', 'permanent'];

/**
 * A write freeze pgshift placed that is still in force, on either side: destroying the state would leave nothing
 * that knows about it, so destroy refuses (even with --force) until `pgshift rollback` or `pgshift unlock --freeze`
 * lifted it.
 */
function refuseWhileFrozen(side: 'source' | 'target', s: FreezeStatus): void {
  if (!IN_FORCE.includes(s.state)) return;
  const until = s.until ? ` until ${s.until.toISOString()}` : ' until it is lifted';
  throw new PgshiftError('FREEZE_IN_FORCE', `${s.tables.length} table(s) on the ${side} are write-frozen by pgshift${until}: destroying the state would leave that freeze with nothing that can lift it`, {
    hint: side === 'source'
      ? 'Run `pgshift rollback` (it lifts the freeze of a cutover that stopped before its switch, or reverts a finished one), or `pgshift unlock --freeze`, then destroy.'
      : 'Run `pgshift unlock --freeze` (the freeze a rollback leaves on the target on purpose) or `pgshift rollback` (a rollback that stopped), then destroy.',
  });
}

/** The source's freeze, when the source answers; with --force an unreachable source is passed over (logged). */
async function sourceFreeze(config: Config, force: boolean): Promise<FreezeStatus | undefined> {
  let source: pg.Client | undefined;
  try {
    source = await connectClient(endpoints(config).source, sessionSettings(config));
    return await freezeStatus(source);
  } catch (err) {
    if (!force) throw err;
    logger().warn({ error: scrub(err instanceof Error ? err.message : String(err)) }, 'the source could not be checked for a write freeze (--force)');
    return undefined;
  } finally {
    await source?.end().catch(() => undefined);
  }
}

/** Leftovers of a freeze that ended (lifted or past its deadline) on the source: pgshift's triggers and schema go. */
async function cleanSource(config: Config): Promise<void> {
  await withClientQuiet(config, async (c) => {
    const s = await freezeStatus(c);
    if (s.state === 'lifted' || s.state === 'expired') await unfreezeWrites(c, { dropSchema: true });
  });
}

async function withClientQuiet(config: Config, fn: (c: pg.Client) => Promise<void>): Promise<void> {
  let c: pg.Client | undefined;
  try {
    c = await connectClient(endpoints(config).source, sessionSettings(config));
    await fn(c);
  } catch (err) {
    logger().warn({ error: scrub(err instanceof Error ? err.message : String(err)) }, 'the leftovers of an ended write freeze on the source could not be removed');
  } finally {
    await c?.end().catch(() => undefined);
  }
}

/**
 * `pgshift destroy`: drops what pgshift created on the target (never an object that was there before, never with
 * CASCADE), each drop with the removal of its record in one transaction, then the state schema last, while it still
 * holds the lock. Refused while a write freeze pgshift placed is in force on either side.
 */
export async function destroy(config: Config, confirm: (plan: DestroyPlan) => Promise<boolean>, o: { force?: boolean } = {}): Promise<DestroyResult> {
  const eps = endpoints(config);
  await assertSessionPooling([eps.target], sessionSettings(config)); // the lock needs one server session
  const control: pg.Client = await connectClient(eps.target, sessionSettings(config));
  try {
    const state = await readState(control);
    if (!state.exists) return { plan: { target: eps.target.display, items: [], gone: [], stateSchema: false }, status: 'nothing', dropped: [], kept: [] };
    const where = await cutOverTo(control);
    if (where.cutOver && !o.force) {
      throw new PgshiftError('CUTOVER_CUT_OVER', `the application is cut over to this target (cutover ${where.record?.id ?? '?'}): destroying it would destroy the live database`, {
        hint: 'Run `pgshift rollback` first, or `pgshift destroy --force` if the application no longer uses it.',
      });
    }
    const lock = await acquireLock(control, { runId: newRunId(), command: 'destroy', ...currentOperator() });
    let released = false;
    try {
      // checked under the lock: no cutover or rollback can place a freeze from here on
      const src = await sourceFreeze(config, o.force === true);
      if (src) refuseWhileFrozen('source', src);
      refuseWhileFrozen('target', await freezeStatus(control));
    } catch (err) {
      await lock.release().catch(() => undefined);
      throw err;
    }
    try {
      const catalog = await introspect(control);
      const plan = destroyPlan(catalog.objects, new Set(Object.keys(state.objects)), eps.target.display, true);
      if (!(await confirm(plan))) return { plan, status: 'cancelled', dropped: [], kept: [] };
      const dropped: string[] = [];
      const kept: Array<{ address: string; reason: string }> = [];
      for (const item of plan.items) {
        try {
          await withTransaction(control, async () => {
            for (const sql of item.sql) await control.query(sql);
            await forgetObjects(control, [item.address]);
          });
          dropped.push(item.address);
        } catch (err) {
          kept.push({ address: item.address, reason: describeServerError(err) });
        }
      }
      await forgetObjects(control, plan.gone);
      if (kept.length > 0) return { plan, status: 'partial', dropped, kept };
      // pgshift's own schema, last, while the lock is still held (released first, another run could start on a
      // state that is about to vanish); the holder row goes with the schema, the advisory lock right after
      await dropState(control);
      await faultPoint('destroy-state', 'effect');
      await control.query('SELECT pg_catalog.pg_advisory_unlock_all()');
      released = true;
      await cleanSource(config);
      return { plan, status: 'destroyed', dropped, kept };
    } finally {
      if (!released) await lock.release().catch(() => undefined);
    }
  } finally {
    await control.end().catch(() => undefined);
  }
}
