import type pg from 'pg';
import type { Config } from '../config/types.js';
import { connectClient } from '../db/connect.js';
import { PgshiftError } from '../errors/index.js';
import { logger } from '../log/logger.js';
import { scrub } from '../log/redact.js';
import { endpoints, sessionSettings } from '../db/endpoints.js';
import { appendAudit } from '../state/audit.js';
import { stateDb } from '../state/db.js';
import { acquireLock, type LockHandle } from '../state/lock.js';
import { migrateState } from '../state/migrations.js';
import { currentOperator, newRunId } from '../state/runs.js';
import { restoreIfSwitched } from './env-file.js';
import { freezeStatus, unfreezeWrites, type FreezeStatus } from './freeze.js';
import { cutOverTo, updateRecord } from '../state/cutover.js';

export interface SideLift {
  /** Where the freeze stood before. */
  readonly was: FreezeStatus['state'];
  /** Tables whose freeze trigger was removed (or neutralised). */
  readonly tables: number;
}

export interface LiftResult {
  readonly source: SideLift;
  readonly target: SideLift;
}

const IN_FORCE: ReadonlyArray<FreezeStatus['state']> = ['active', 'permanent'];

/**
 * `pgshift unlock --freeze`: lifts the write freeze pgshift left in force on the source and on the target, with or
 * without a state (after a crash, a failed error path, a destroy). Refused only where lifting would let the
 * application write to both sides: the source while the application is cut over to the target (`pgshift rollback`
 * is the way back), the target while a rollback is past its switch point (the source already takes writes). A
 * cutover or rollback that had stopped before its switch is recorded as aborted (its env file put back).
 */
export async function liftFreezes(config: Config): Promise<LiftResult> {
  const eps = endpoints(config);
  const settings = sessionSettings(config);
  const [control, source] = await Promise.all([
    connectClient(eps.target, settings),
    connectClient(eps.source, settings),
  ]);
  let lock: LockHandle | undefined;
  try {
    const hasState =
      (await control.query<{ ok: boolean }>(`SELECT pg_catalog.to_regclass('pgshift.runs') IS NOT NULL AS ok`)).rows[0]
        ?.ok === true;
    const [src, tgt] = await Promise.all([freezeStatus(source), freezeStatus(control)]);
    let liftSource = src.state !== 'none';
    const liftTarget = tgt.state !== 'none';
    if (hasState) {
      await migrateState(stateDb(control));
      // a live cutover or rollback holds the lock (LOCK_HELD): its own error path lifts its freeze
      lock = await acquireLock(control, { runId: newRunId(), command: 'unlock', ...currentOperator() });
      const where = await cutOverTo(control);
      const last = where.record;
      const rollbackPastSwitch =
        last?.direction === 'rollback' && last.status === 'running' && !IN_FORCE.includes(src.state);
      if (
        where.cutOver &&
        IN_FORCE.includes(src.state) &&
        !(last?.direction === 'rollback' && last.status === 'running')
      ) {
        throw new PgshiftError(
          'CUTOVER_CUT_OVER',
          `the application is cut over to the target (cutover ${last?.id ?? '?'}): the source's freeze keeps stray writes out on purpose`,
          {
            hint: 'Run `pgshift rollback` to move the application back (it lifts the source freeze as its switch).',
          },
        );
      }
      if (rollbackPastSwitch && IN_FORCE.includes(tgt.state)) {
        throw new PgshiftError(
          'CUTOVER_CUT_OVER',
          `rollback ${last.id} is past its switch point (the source takes writes again): the target's freeze keeps the application from writing to both sides`,
          {
            hint: 'Run `pgshift rollback` to finish it.',
          },
        );
      }
      // during a rollback, the source keeps the cutover's freeze until the rollback's switch
      if (last?.direction === 'rollback' && last.status === 'running') liftSource = false;
      // what a stopped run left: recorded as aborted, so that a resume does not trust a freeze that is gone
      if (last?.status === 'running' && last.switchedAt === null) {
        if (last.direction === 'cutover') restoreIfSwitched(config, last.backupFile);
        if (last.direction === 'cutover' || liftTarget) {
          await updateRecord(control, last.id, {
            status: 'aborted',
            finished: true,
            frozenAt: null,
            error: 'stopped; its write freeze was lifted by `pgshift unlock --freeze`',
          });
        }
      }
    }
    const s = liftSource ? await unfreezeWrites(source, { dropSchema: true }) : 0;
    const t = liftTarget ? await unfreezeWrites(control, { dropSchema: false }) : 0;
    if (hasState)
      await appendAudit(control, {
        command: 'unlock',
        ...currentOperator(),
        runId: newRunId(),
        outcome: 'freeze lifted',
        counts: { sourceTables: s, targetTables: t },
      });
    return { source: { was: src.state, tables: s }, target: { was: tgt.state, tables: t } };
  } finally {
    await lock?.release().catch(() => undefined);
    await Promise.all([control, source].map((c: pg.Client) => c.end().catch(() => undefined)));
  }
}

function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Lifts the freeze on one side in an error path of a cutover or rollback, before anything else is touched: through
 * the session that placed it (whatever transaction it was in is rolled back first), else through a new session.
 * Never throws: when both fail, a freeze placed before the switch still ends by itself at its deadline; what
 * happened is logged.
 */
export async function liftFreeze(config: Config, side: 'source' | 'target', session: pg.Client): Promise<boolean> {
  const drop = { dropSchema: side === 'source' };
  try {
    await within(
      15_000,
      (async () => {
        await session.query('ROLLBACK').catch(() => undefined);
        await unfreezeWrites(session, drop);
      })(),
    );
    return true;
  } catch (first) {
    let fresh: pg.Client | undefined;
    try {
      fresh = await connectClient(endpoints(config)[side], sessionSettings(config));
      await within(15_000, unfreezeWrites(fresh, drop));
      return true;
    } catch (err) {
      logger().error(
        {
          side,
          error: scrub(err instanceof Error ? err.message : String(err)),
          first: scrub(first instanceof Error ? first.message : String(first)),
        },
        `the write freeze on the ${side} could not be lifted: it ends by itself at its deadline if the switch was not reached; else run \`pgshift rollback\` or \`pgshift unlock --freeze\``,
      );
      return false;
    } finally {
      await fresh?.end().catch(() => undefined);
    }
  }
}
