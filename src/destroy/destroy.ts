import { existsSync, rmSync } from 'node:fs';
import type pg from 'pg';
import { envBackups, unusableBackups, type EnvBackup } from '../cutover/backups.js';
import { introspect } from '../catalog/introspect.js';
import { orderForCreate } from '../catalog/order.js';
import type { CatalogObject } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { connectClient } from '../db/connect.js';
import { assertSessionPooling } from '../db/pooler.js';
import { execute, type ExecutionResult } from '../apply/executor.js';
import { runAction } from '../apply/handlers/index.js';
import type { DropLargeObjectsAction, DropObjectAction, DropStreamAction } from '../plan/model.js';
import { countCreatedLargeObjects } from '../state/large-objects.js';
import { streamDropAction } from './stream.js';
import { endpoints, sessionSettings } from '../db/endpoints.js';
import { forgetObjects } from '../state/objects.js';
import { acquireLock } from '../state/lock.js';
import { dropState } from '../state/migrations.js';
import { currentOperator, newRunId } from '../state/runs.js';
import { readState, type StateSnapshot } from '../state/snapshot.js';
import { readStreams } from '../state/stream.js';
import { dropSql } from './drop-sql.js';
import { cutOverTo } from '../state/cutover.js';
import { freezeStatus, unfreezeWrites, type FreezeStatus } from '../cutover/freeze.js';
import { faultPoint } from '../cutover/step.js';
import { PgshiftError } from '../errors/index.js';
import { logger } from '../log/logger.js';
import { scrub } from '../log/redact.js';

export interface DestroyPlan {
  readonly target: string;
  /** What pgshift created and will drop, dependents first: one drop action each, run by the executor in this order. */
  readonly items: readonly DropObjectAction[];
  /** The change stream on the source (slot, publications, replica identities): dropped before the items. */
  readonly stream?: DropStreamAction;
  /** The large objects pgshift created: unlinked after the stream, before the objects (their owners may go). */
  readonly largeObjects?: DropLargeObjectsAction;
  /** Objects recorded in the state but no longer on the target (their records are removed). */
  readonly gone: readonly string[];
  readonly stateSchema: boolean;
  /**
   * The cutovers' env backups (old values of the switched variable): `remove`, those no rollback can use, go with the
   * state that records them; `named`, the others (the one a rollback would use, files this state does not record),
   * are left and said.
   */
  readonly envBackups?: { readonly remove: readonly string[]; readonly named: readonly EnvBackup[] };
}

export interface DestroyResult {
  readonly plan: DestroyPlan;
  readonly status: 'nothing' | 'cancelled' | 'destroyed' | 'partial';
  readonly dropped: readonly string[];
  /** Left in place: dropping them would have touched objects pgshift did not create (or the stream, if refused). */
  readonly kept: ReadonlyArray<{ readonly address: string; readonly reason: string }>;
  /** The change stream on the source: dropped (with the replica identities put back), kept (see `kept`), or none. */
  readonly stream?: 'dropped' | 'kept' | 'none';
  /** The env backups removed (see `plan.envBackups`). */
  readonly removedBackups?: readonly string[];
}

/**
 * The drop of one object. No dependency edges: the list is in drop order (dependents first) and walked one at a time,
 * and a drop that fails must neither stop the others nor hide the server's reason for the objects it leaves in use
 * (each is tried; the server refuses the drop of an object another one still uses, without CASCADE).
 */
function dropAction(o: CatalogObject): DropObjectAction {
  return {
    kind: 'drop_object',
    id: o.address,
    address: o.address,
    dependsOn: [],
    change: 'delete',
    reason: 'created by pgshift',
    phase: 'pre-data',
    locks: [],
    objectKind: o.kind,
    sql: dropSql(o),
  };
}

/** Exactly what pgshift created (the addresses in pgshift.objects), found on the target, dependents first. */
export function destroyPlan(
  target: readonly CatalogObject[],
  recorded: ReadonlySet<string>,
  display: string,
  stateExists: boolean,
): DestroyPlan {
  const mine = target.filter((o) => recorded.has(o.address));
  const onTarget = new Set(target.map((o) => o.address));
  const items = orderForCreate(mine).reverse().map(dropAction);
  return {
    target: display,
    items,
    gone: [...recorded].filter((a) => !onTarget.has(a)).sort(),
    stateSchema: stateExists,
  };
}

/** The unlink of the large objects pgshift created, if it recorded any (or a copy's checkpoint). */
async function largeObjectsDrop(control: pg.Client, state: StateSnapshot): Promise<DropLargeObjectsAction | undefined> {
  const objects = await countCreatedLargeObjects(control);
  if (objects === 0 && !state.largeObjects) return undefined;
  return {
    kind: 'drop_large_objects',
    id: 'large_objects',
    address: 'large_objects',
    dependsOn: [],
    change: 'delete',
    reason: `${objects} large object(s) created by pgshift`,
    phase: 'pre-data',
    locks: [],
    objects,
  };
}

/** The drops that did not happen, in plan order, each with the reason (the server's, without the address repeated). */
function keptOf(plan: DestroyPlan, execution: ExecutionResult): Array<{ address: string; reason: string }> {
  const done = new Set(execution.done);
  const failed = new Map(execution.failed.map((f) => [f.id, f]));
  return [...(plan.stream ? [plan.stream] : []), ...(plan.largeObjects ? [plan.largeObjects] : []), ...plan.items]
    .filter((a) => !done.has(a.id))
    .map((a) => {
      const f = failed.get(a.id);
      const reason = !f
        ? 'not dropped: the run stopped before it'
        : f.message.startsWith(`${a.address}: `)
          ? f.message.slice(a.address.length + 2)
          : f.message;
      return { address: a.address, reason };
    });
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
  throw new PgshiftError(
    'FREEZE_IN_FORCE',
    `${s.tables.length} table(s) on the ${side} are write-frozen by pgshift${until}: destroying the state would leave that freeze with nothing that can lift it`,
    {
      hint:
        side === 'source'
          ? 'Run `pgshift rollback` (it lifts the freeze of a cutover that stopped before its switch, or reverts a finished one), or `pgshift unlock --freeze`, then destroy.'
          : 'Run `pgshift unlock --freeze` (the freeze a rollback leaves on the target on purpose) or `pgshift rollback` (a rollback that stopped), then destroy.',
    },
  );
}

/** The source's freeze, when the source answers; with --force an unreachable source is passed over (logged). */
async function sourceFreeze(config: Config, force: boolean): Promise<FreezeStatus | undefined> {
  let source: pg.Client | undefined;
  try {
    source = await connectClient(endpoints(config).source, sessionSettings(config));
    return await freezeStatus(source);
  } catch (err) {
    if (!force) throw err;
    logger().warn(
      { error: scrub(err instanceof Error ? err.message : String(err)) },
      'the source could not be checked for a write freeze (--force)',
    );
    return undefined;
  } finally {
    await source?.end().catch(() => undefined);
  }
}

/**
 * The change stream to drop on the source, if any. With --force an unreachable source is passed over, and the slot
 * left there is said loudly: it holds WAL until someone drops it.
 */
async function sourceStream(config: Config, state: pg.Client, force: boolean): Promise<DropStreamAction | undefined> {
  let source: pg.Client | undefined;
  try {
    source = await connectClient(endpoints(config).source, sessionSettings(config));
    return await streamDropAction(config, source, state);
  } catch (err) {
    if (!force) throw err;
    logger().warn(
      { error: scrub(err instanceof Error ? err.message : String(err)) },
      "the source could not be reached (--force): pgshift's replication slot and publications, if any, are LEFT on the source; drop them there (pg_drop_replication_slot, DROP PUBLICATION): a slot nobody reads fills the disk",
    );
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
    logger().warn(
      { error: scrub(err instanceof Error ? err.message : String(err)) },
      'the leftovers of an ended write freeze on the source could not be removed',
    );
  } finally {
    await c?.end().catch(() => undefined);
  }
}

/** Removes the files (a file already gone is not counted); returns those removed. */
function removeFiles(files: readonly string[]): string[] {
  return files.filter((f) => {
    if (!existsSync(f)) return false;
    rmSync(f, { force: true });
    return true;
  });
}

/**
 * Whether the state records anything pgshift made: an object, a copy, a change stream, a cutover. A state schema
 * that holds none of these (written by a command that then stopped) leaves nothing to drop but itself, and destroy
 * says there is nothing to destroy rather than planning the schema and reporting `0 dropped`.
 */
async function recordsAnything(control: pg.Client, state: StateSnapshot): Promise<boolean> {
  if (Object.keys(state.objects).length > 0 || state.checkpoints.length > 0 || state.cutover || state.largeObjects)
    return true;
  return (await readStreams(control)).length > 0;
}

/**
 * `pgshift destroy`: drops what pgshift created on the target (never an object that was there before, never with
 * CASCADE) as drop actions walked by the executor, each drop with the removal of its record in one transaction, then
 * the state schema last, while it still holds the lock. Refused while a write freeze pgshift placed is in force on either side.
 */
export async function destroy(
  config: Config,
  confirm: (plan: DestroyPlan) => Promise<boolean>,
  o: { force?: boolean } = {},
): Promise<DestroyResult> {
  const eps = endpoints(config);
  await assertSessionPooling([eps.target], sessionSettings(config)); // the lock needs one server session
  const control: pg.Client = await connectClient(eps.target, sessionSettings(config));
  try {
    const state = await readState(control);
    // a state that records nothing pgshift made (a declined or blocked apply, a refused cutover): nothing to destroy
    if (!state.exists || !(await recordsAnything(control, state)))
      return {
        plan: { target: eps.target.display, items: [], gone: [], stateSchema: false },
        status: 'nothing',
        dropped: [],
        kept: [],
      };
    const where = await cutOverTo(control);
    if (where.cutOver && !o.force) {
      throw new PgshiftError(
        'CUTOVER_CUT_OVER',
        `the application is cut over to this target (cutover ${where.record?.id ?? '?'}): destroying it would destroy the live database`,
        {
          hint: 'Run `pgshift rollback` first, or `pgshift destroy --force` if the application no longer uses it.',
        },
      );
    }
    const runId = newRunId();
    const lock = await acquireLock(control, { runId, command: 'destroy', ...currentOperator() });
    let released = false;
    try {
      // checked under the lock: no cutover or rollback can place a freeze from here on
      const src = await sourceFreeze(config, o.force === true);
      if (src) refuseWhileFrozen('source', src);
      // a finished rollback leaves the target frozen on purpose (stray writes to the old target fail); the
      // application is on the source, and destroying the target ends that freeze with the rest
      const rolledBack = where.record?.direction === 'rollback' && where.record.status === 'done';
      const tgt = await freezeStatus(control);
      if (rolledBack && tgt.state === 'permanent') await unfreezeWrites(control, { dropSchema: false });
      else refuseWhileFrozen('target', tgt);
    } catch (err) {
      await lock.release().catch(() => undefined);
      throw err;
    }
    try {
      const catalog = await introspect(control);
      const objects = destroyPlan(catalog.objects, new Set(Object.keys(state.objects)), eps.target.display, true);
      const onSource = await sourceStream(config, control, o.force === true);
      const remove = await unusableBackups(control);
      const named = (await envBackups(control, config.cutover.switch?.envFile)).filter((b) => !remove.includes(b.file));
      const los = await largeObjectsDrop(control, state);
      const withBackups: DestroyPlan = {
        ...objects,
        envBackups: { remove, named },
        ...(los ? { largeObjects: los } : {}),
      };
      const plan: DestroyPlan = onSource ? { ...withBackups, stream: onSource } : withBackups;
      if (!(await confirm(plan))) return { plan, status: 'cancelled', dropped: [], kept: [] };
      // the drops through the executor, one at a time in plan order, each with its record's removal under the lock fence
      const first = [...(plan.stream ? [plan.stream] : []), ...(plan.largeObjects ? [plan.largeObjects] : [])];
      const execution = await execute([...first, ...plan.items], {
        concurrency: 1,
        openWorker: () => connectClient(eps.target, sessionSettings(config)),
        run: (action, client) =>
          runAction(action, client, {
            runId,
            lockId: lock.lockId,
            openSource: () => connectClient(eps.source, sessionSettings(config)),
          }),
      });
      // the stream's drop is reported apart (`stream`); a failed one is among the kept, with its reason
      const stream = !plan.stream ? 'none' : execution.done.includes(plan.stream.id) ? 'dropped' : 'kept';
      const dropped = execution.done.filter((id) => id !== plan.stream?.id && id !== plan.largeObjects?.id);
      const kept = keptOf(plan, execution);
      await forgetObjects(control, plan.gone);
      if (kept.length > 0) return { plan, status: 'partial', dropped, kept, stream };
      // the backups no rollback can use go before the state that records them (afterwards nothing would know them)
      const removedBackups = removeFiles(plan.envBackups?.remove ?? []);
      // pgshift's own schema, last, while the lock is still held (released first, another run could start on a
      // state that is about to vanish); the holder row goes with the schema, the advisory lock right after
      await dropState(control);
      await faultPoint('destroy-state', 'effect');
      await control.query('SELECT pg_catalog.pg_advisory_unlock_all()');
      released = true;
      await cleanSource(config);
      return { plan, status: 'destroyed', dropped, kept, stream, removedBackups };
    } finally {
      if (!released) await lock.release().catch(() => undefined);
    }
  } finally {
    await control.end().catch(() => undefined);
  }
}
