import type pg from 'pg';
import type { Config } from '../config/types.js';
import { connectClient } from '../db/connect.js';
import { freeConnections } from '../db/headroom.js';
import { assertSessionPooling } from '../db/pooler.js';
import { isTransient } from '../db/retry.js';
import { PgshiftError } from '../errors/index.js';
import { detailLevel, logger } from '../log/logger.js';
import { scrubDeep } from '../log/redact.js';
import { configHash } from '../plan/config-hash.js';
import { blockers, type CopyTableAction, type Finding, type Plan } from '../plan/model.js';
import { ensureSplits } from '../copy/split.js';
import { markReady, queueUnits } from '../state/work-units.js';
import { LeaseKeeper, Serial } from './lease-keeper.js';
import { assertFresh, decisionHash, loadPlan, planHash } from '../plan/planfile.js';
import { endpoints, sessionSettings } from '../db/endpoints.js';
import { planFrom, refresh } from '../plan/refresh.js';
import { appendAudit } from '../state/audit.js';
import { acquireLock } from '../state/lock.js';
import { migrateState } from '../state/migrations.js';
import { currentOperator, finishRun, markInterruptedRuns, newRunId, startRun } from '../state/runs.js';
import { stateDb } from '../state/db.js';
import { execute, type ExecutionResult, type ExecutorEvent } from './executor.js';
import { runAction } from './handlers/index.js';
import { readSessionProgress } from './handlers/session-progress.js';
import type { VerifyFinding, VerifyReport } from '../verify/report.js';
import { runVerification } from '../verify/run.js';
import { checkExposure, exposedTables, type ExposureReport } from '../security/exposure.js';

export interface ApplyOptions {
  readonly config: Config;
  /** A saved plan to apply exactly (refused when stale). */
  readonly planFile?: string;
  readonly parallel?: number;
  /** Asked with the fresh plan when there is no plan file; false cancels. */
  readonly confirm: (plan: Plan) => Promise<boolean>;
  readonly onEvent?: (e: ExecutorEvent) => void;
  readonly signal?: AbortSignal;
  readonly command?: string;
}

export interface ApplyResult {
  readonly plan: Plan;
  readonly planHash: string;
  readonly runId: string | null;
  readonly status: 'no-changes' | 'cancelled' | 'succeeded' | 'failed' | 'interrupted';
  readonly execution: ExecutionResult | null;
  /** With exposed schemas (security.exposed_schemas): what anon and authenticated can read after this apply. */
  readonly security?: ExposureReport;
  /** The verification gate of this run, when it ran: its report's id, result and findings (warnings, not differences). */
  readonly verification?: {
    readonly id: string;
    readonly ok: boolean;
    readonly findings: readonly VerifyFinding[];
    readonly summary: VerifyReport['summary'];
    /** The tables with rows pending the final sync (gone from the live source since the copy). */
    readonly tables: ReadonlyArray<{ readonly table: string; readonly pendingFinalSync: number }>;
  };
}

function blockedPlan(blocking: readonly Finding[]): PgshiftError {
  // the application is on the target: refused as destroy refuses, with the way back
  const cutOver = blocking.find((b) => b.code === 'CUTOVER_CUT_OVER');
  if (cutOver)
    return new PgshiftError('CUTOVER_CUT_OVER', `apply refused: ${cutOver.message}`, {
      ...(cutOver.hint ? { hint: cutOver.hint } : {}),
    });
  return new PgshiftError(
    'PLAN_BLOCKED',
    `the plan has ${blocking.length} blocker(s): ${blocking.map((b) => `[${b.code}] ${b.message}`).join('; ')}`,
    {
      hint: blocking[0]?.hint ?? 'Resolve the blockers shown by `pgshift plan`, then apply again.',
    },
  );
}

/**
 * `pgshift apply`: take the target's lock, refresh, plan (or check a saved plan is still fresh), confirm,
 * run the action graph, record the run. Safe to kill at any instant and run again.
 */
export async function apply(opts: ApplyOptions): Promise<ApplyResult> {
  const { config } = opts;
  const eps = endpoints(config);
  const session = sessionSettings(config);
  // a transaction pooler would lose the lock and the session settings between transactions: refuse it first
  await assertSessionPooling([eps.source, eps.target], session);
  let control = await connectClient(eps.target, session);
  let source: pg.Client | undefined;
  try {
    // a plan with blockers (a managed schema, a superuser-only object...) changes nothing on the target, not even
    // pgshift's own state: plan read-only first
    source = await connectClient(eps.source, session);
    const early = blockers(planFrom(config, eps, await refresh(source, control)));
    if (early.length > 0) throw blockedPlan(early);
    await migrateState(stateDb(control));
    const runId = newRunId();
    const who = currentOperator();
    const lockInfo = { runId, command: opts.command ?? 'apply', ...who };
    let lock = await acquireLock(control, lockInfo);
    /**
     * The control session holds the lock. If the target restarted under us (the copy survives that through
     * retries), reconnect and take the lock again before writing the run's record.
     */
    const withControl = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
      try {
        return await fn(control);
      } catch (err) {
        if (!isTransient(err)) throw err;
        logger().warn({ reason: (err as Error).message }, 'the control session to the target was lost; reconnecting');
        await control.end().catch(() => undefined);
        control = await connectClient(eps.target, session);
        lock = await acquireLock(control, lockInfo);
        return fn(control);
      }
    };
    try {
      // we hold the lock: any run still marked running died without a word
      await markInterruptedRuns(control);
      const refreshed = await refresh(source, control);
      const fresh = planFrom(config, eps, refreshed);
      let plan = fresh;
      if (opts.planFile) {
        const saved = loadPlan(opts.planFile);
        assertFresh(
          saved.plan,
          {
            configHash: configHash(config),
            sourceFingerprint: refreshed.source.fingerprint,
            targetFingerprint: refreshed.target.fingerprint,
            stateSerial: refreshed.state.serial,
          },
          opts.planFile,
        );
        // the saved plan is fresh: planning is pure, so today's plan must decide the same. Run today's (computed
        // here from the catalogs) rather than SQL read from a file, and refuse if the two decide anything differently
        // (row and size estimates of a live source may move: they decide nothing).
        if (decisionHash(scrubDeep(fresh)) !== decisionHash(saved.plan)) {
          throw new PgshiftError(
            'PLAN_STALE',
            `the saved plan ${opts.planFile} differs from the plan computed now from the same inputs`,
            {
              hint: 'Run `pgshift plan --out` again, review it, and apply the new plan.',
            },
          );
        }
        plan = fresh;
      }
      const hash = planHash(plan);
      const blocking = blockers(plan);
      if (blocking.length > 0) throw blockedPlan(blocking);
      const exposure = async (): Promise<{ security?: ExposureReport }> =>
        config.security.exposedSchemas.length === 0
          ? {}
          : {
              security: await withControl((c) =>
                checkExposure(
                  c,
                  exposedTables(config, refreshed.source, refreshed.target),
                  config.security.exposedSchemas,
                ),
              ),
            };
      if (plan.actions.length === 0)
        return { plan, planHash: hash, runId: null, status: 'no-changes', execution: null, ...(await exposure()) };
      if (!opts.planFile && !(await opts.confirm(plan)))
        return { plan, planHash: hash, runId: null, status: 'cancelled', execution: null };

      // never more sessions than the servers can take: each worker holds one target session (and a copy one
      // source session); keep one spare on each side for the application and for pgshift status
      const requested = Math.max(1, opts.parallel ?? config.copy.parallel);
      const free = Math.min(await freeConnections(control), await freeConnections(source));
      const workers = Math.max(1, Math.min(requested, free - 2));
      if (workers < requested)
        logger().warn({ requested, workers, free }, 'fewer workers than copy.parallel: not enough free connections');

      const runStarted = new Date();
      const gate: { report?: VerifyReport } = {};
      await startRun(control, {
        id: runId,
        command: opts.command ?? 'apply',
        migration: config.name,
        planHash: hash,
        ...who,
      });
      // a terminal's progress view shows the run (its id in the closing line): this is for the JSON log
      logger()[detailLevel()]({ runId, actions: plan.actions.length, planHash: hash }, 'apply started');
      const verifyAction = plan.actions.find((a) => a.kind === 'verify');
      // the copy units become the run's queue: split tables' key ranges sampled (or kept) first, then every unit
      // queued, claimable by this run's slots and by any `pgshift worker` once its dependencies are done
      const copies = plan.actions.filter((a): a is CopyTableAction => a.kind === 'copy_table');
      const sampling = source;
      await withControl((c) => ensureSplits(c, sampling, copies, runId));
      await withControl((c) => queueUnits(c, runId, copies));
      // the queue's own session: ready marks and the leases' heartbeat (the control session reads the workers' progress)
      const queueSession = new Serial(await connectClient(eps.target, session));
      const keeper = new LeaseKeeper(queueSession, config.copy.leaseMs);
      const actionById = new Map(plan.actions.map((a) => [a.id, a]));
      const queue = {
        owner: `apply ${runId} (${who.host} pid ${process.pid})`,
        leaseMs: config.copy.leaseMs,
        keeper,
        pollMs: 250,
        actionOf: (unit: string) => actionById.get(unit),
      };
      const execution = await execute(plan.actions, {
        concurrency: workers,
        // a primary key waiting to attach lends its slot, when the connections leave room for one more session
        spare: Math.max(0, Math.min(1, free - 2 - workers)),
        openWorker: () => connectClient(eps.target, session),
        onReady: (action) => {
          if (action.kind !== 'copy_table') return;
          queueSession
            .run((c) => markReady(c, [action.id]))
            .catch((err: unknown) =>
              logger().debug({ unit: action.id, reason: (err as Error).message }, 'marking a unit ready failed'),
            );
        },
        run: (action, client, hooks) =>
          runAction(action, client, {
            runId,
            onAttachPending: hooks.attachPending,
            lockId: lock.lockId,
            queue,
            openSource: () => connectClient(eps.source, session),
            ...(opts.signal ? { signal: opts.signal } : {}),
            onProgress: (action, rows, bytes) => opts.onEvent?.({ type: 'action-progress', action, rows, bytes }),
            onMeasure: (action, measure) => opts.onEvent?.({ type: 'action-measure', action, measure }),
            // the control session idles while the workers run: it reads what their sessions are doing
            readSession: (pid) => readSessionProgress(control, pid),
            verify: async (target) =>
              (gate.report = await runVerification(config, {
                runId,
                planHash: hash,
                targetClient: target,
                copyDigests: { runId },
                ...(verifyAction
                  ? {
                      onProgress: (rowsChecked: number, rowsTotal: number) =>
                        opts.onEvent?.({
                          type: 'action-measure',
                          action: verifyAction,
                          measure: { kind: 'verify', rowsChecked, rowsTotal },
                        }),
                    }
                  : {}),
              })),
          }),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
      }).finally(async () => {
        keeper.stop();
        await queueSession.run((c) => (c as pg.Client).end()).catch(() => undefined);
      });
      const status = execution.failed.length > 0 ? 'failed' : execution.interrupted ? 'interrupted' : 'succeeded';
      await withControl((c) =>
        finishRun(
          c,
          runId,
          status,
          {
            done: execution.done.length,
            failed: execution.failed.length,
            skipped: execution.skipped.length,
            notStarted: execution.notStarted.length,
          },
          execution.failed[0]?.message,
        ),
      );
      await withControl((c) =>
        appendAudit(c, {
          command: opts.command ?? 'apply',
          ...who,
          runId,
          planHash: hash,
          startedAt: runStarted,
          outcome: status,
          counts: {
            done: execution.done.length,
            failed: execution.failed.length,
            skipped: execution.skipped.length,
            notStarted: execution.notStarted.length,
          },
        }),
      );
      const v = gate.report;
      const pending =
        v?.tables
          .filter((t) => (t.pendingFinalSync ?? 0) > 0)
          .map((t) => ({ table: t.table, pendingFinalSync: t.pendingFinalSync ?? 0 })) ?? [];
      const verification = v
        ? { verification: { id: v.id, ok: v.ok, findings: v.findings ?? [], summary: v.summary, tables: pending } }
        : {};
      return {
        plan,
        planHash: hash,
        runId,
        status,
        execution,
        ...verification,
        ...(status === 'succeeded' ? await exposure() : {}),
      };
    } finally {
      await lock.release().catch(() => undefined);
    }
  } finally {
    await Promise.all([control.end().catch(() => undefined), source?.end().catch(() => undefined)]);
  }
}
