import type pg from 'pg';
import { introspect } from '../catalog/introspect.js';
import { orderForCreate } from '../catalog/order.js';
import type { CatalogObject } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { connectClient, withTransaction } from '../db/connect.js';
import { assertSessionPooling } from '../db/pooler.js';
import { describeServerError } from '../copy/server-error.js';
import { endpoints, sessionSettings } from '../plan/refresh.js';
import { acquireLock } from '../state/lock.js';
import { currentOperator, newRunId } from '../state/runs.js';
import { readState } from '../state/snapshot.js';
import { dropSql } from './drop-sql.js';
import { cutOverTo } from '../cutover/record.js';
import { PgshiftError } from '../errors/index.js';

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

/**
 * `pgshift destroy`: drops what pgshift created on the target (never an object that was there before, never with
 * CASCADE), each drop with the removal of its record in one transaction, then the state schema last.
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
      const catalog = await introspect(control);
      const plan = destroyPlan(catalog.objects, new Set(Object.keys(state.objects)), eps.target.display, true);
      if (!(await confirm(plan))) return { plan, status: 'cancelled', dropped: [], kept: [] };
      const dropped: string[] = [];
      const kept: Array<{ address: string; reason: string }> = [];
      for (const item of plan.items) {
        try {
          await withTransaction(control, async () => {
            for (const sql of item.sql) await control.query(sql);
            await control.query('DELETE FROM pgshift.objects WHERE address = $1', [item.address]);
          });
          dropped.push(item.address);
        } catch (err) {
          kept.push({ address: item.address, reason: describeServerError(err) });
        }
      }
      if (plan.gone.length > 0) await control.query('DELETE FROM pgshift.objects WHERE address = ANY($1::text[])', [plan.gone]);
      if (kept.length > 0) return { plan, status: 'partial', dropped, kept };
      await lock.release();
      released = true;
      await control.query('DROP SCHEMA IF EXISTS pgshift CASCADE'); // pgshift's own schema, last
      return { plan, status: 'destroyed', dropped, kept };
    } finally {
      if (!released) await lock.release().catch(() => undefined);
    }
  } finally {
    await control.end().catch(() => undefined);
  }
}
