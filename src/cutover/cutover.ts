import type { Config } from '../config/types.js';
import { PgshiftError } from '../errors/index.js';
import { redactUrl } from '../log/redact.js';
import { appendAudit } from '../state/audit.js';
import { stateDb } from '../state/db.js';
import type { LockHandle } from '../state/lock.js';
import { migrateState } from '../state/migrations.js';
import { currentOperator, finishRun, newRunId, startRun } from '../state/runs.js';
import { readState } from '../state/snapshot.js';
import { migratedSet } from './context.js';
import { checkEnvFile, restoreIfSwitched } from './env-file.js';
import { withoutValues } from './errors.js';
import { freezeStatus, frozenTables, unfreezeWrites } from './freeze.js';
import { liftFreeze } from './lift.js';
import { cutoverNotes, planOf, type CutoverPlan } from './plan.js';
import { cutoverBlockers } from './preconditions.js';
import {
  cutOverTo,
  insertRecord,
  latestRecord,
  updateRecord,
  type CutoverRow,
  type StepRecord,
} from '../state/cutover.js';
import { openSessions } from './sessions.js';
import { runSteps, stepContext, type StepOptions } from './step.js';
import { totals, type CutoverContext, type Progress, type SyncTotals } from './steps/cutover-context.js';
import { cutoverSteps } from './steps/index.js';
import { cutoverStrategy } from './strategy.js';
import { acquireLockFromFollower } from '../state/handover.js';

export type { CutoverPlan, CutoverStepPlan } from './plan.js';
export type { SyncTotals } from './steps/cutover-context.js';

export interface CutoverResult {
  readonly id: string;
  readonly status: 'done' | 'cancelled' | 'already';
  readonly plan: CutoverPlan | null;
  /** From the first write refused (or held) on the source to the application using the target. */
  readonly freezeMs: number | null;
  readonly steps: readonly StepRecord[];
  readonly sync: { readonly catchUp: SyncTotals; readonly final: SyncTotals };
  readonly sequences: number;
  readonly verificationId: string | null;
}

export interface CutoverOptions extends StepOptions {
  confirm(plan: CutoverPlan): Promise<boolean>;
}

/**
 * `pgshift cutover`: catch-up, write freeze on the source, final sync, sequences, verification, switch of the env
 * file, switch command, health check. Every step is recorded in pgshift.cutover as it finishes; an interrupted
 * cutover resumes where it stopped (or, when its freeze budget is spent, lifts the freeze and starts over).
 */
export async function runCutover(config: Config, o: CutoverOptions): Promise<CutoverResult> {
  const s = await openSessions(config);
  const runId = newRunId();
  let lock: LockHandle | undefined;
  try {
    await migrateState(stateDb(s.control));
    const where = await cutOverTo(s.control);
    let resume: CutoverRow | undefined =
      where.record?.direction === 'cutover' && where.record.status === 'running' ? where.record : undefined;
    if (where.cutOver && !resume) {
      return {
        id: where.record?.id ?? '',
        status: 'already',
        plan: null,
        freezeMs: where.record?.freezeMs ?? null,
        steps: where.record?.steps ?? [],
        sync: { catchUp: totals([]), final: totals([]) },
        sequences: 0,
        verificationId: null,
      };
    }
    const state = await readState(s.control);
    if (!resume) {
      const blockers = cutoverBlockers(config, state);
      if (blockers.length > 0) {
        throw new PgshiftError('CUTOVER_NOT_READY', `cutover refused: ${blockers.join('; ')}`, {
          hint: 'Each reason names what is missing: `pgshift apply` finishes the copy and verifies it; `pgshift verify` refreshes a stale verification and names the rows that differ and why.',
        });
      }
    }
    // a follower (`apply --follow`) streaming meanwhile hands the lock over: the cutover streams from here on
    lock = await acquireLockFromFollower(s.control, { runId, command: 'cutover', ...currentOperator() });
    const set = await migratedSet(config, s.source);

    // an interrupted cutover whose freeze has outlived its budget (or ended by itself on the server) is lifted and started over
    if (
      resume &&
      resume.switchedAt === null &&
      resume.frozenAt !== null &&
      (Date.now() - resume.frozenAt.getTime() >= config.cutover.maxWriteFreezeMs ||
        (await freezeStatus(s.source)).state === 'expired')
    ) {
      await unfreezeWrites(s.source, { dropSchema: true });
      restoreIfSwitched(config, resume.backupFile);
      await updateRecord(s.control, resume.id, {
        status: 'aborted',
        finished: true,
        error: 'interrupted; its write freeze outlived max_write_freeze and was lifted by the next cutover',
      });
      resume = undefined;
    }
    const id = resume?.id ?? newRunId();
    const steps = cutoverSteps(config, await cutoverStrategy(config, s.control, resume));
    const plan = planOf(steps, { config, set, id, resume, notes: cutoverNotes(config) });
    // declining (or Ctrl-C at the question) to resume a cutover stopped inside its freeze must not leave the source frozen
    const declined = async (why: string): Promise<void> => {
      if (resume && resume.switchedAt === null && (await frozenTables(s.source)).length > 0) {
        await unfreezeWrites(s.source, { dropSchema: true });
        restoreIfSwitched(config, resume.backupFile);
        await updateRecord(s.control, resume.id, {
          status: 'aborted',
          finished: true,
          frozenAt: null,
          error: `its resume was ${why}: the write freeze was lifted`,
        });
      }
    };
    const approved = await o.confirm(plan).catch(async (err: unknown) => {
      await declined('interrupted');
      throw err;
    });
    if (!approved) {
      await declined('declined');
      return {
        id,
        status: 'cancelled',
        plan,
        freezeMs: null,
        steps: [],
        sync: { catchUp: totals([]), final: totals([]) },
        sequences: 0,
        verificationId: null,
      };
    }
    if (config.cutover.switch && !resume?.switchedAt) checkEnvFile(config.cutover.switch, resume?.backupFile ?? null);

    // a rollback leaves the target frozen against stray writes; a new cutover lifts that first (the app is on the source)
    if (!resume && (await frozenTables(s.target)).length > 0) await unfreezeWrites(s.target, { dropSchema: false });
    await startRun(s.control, {
      id: runId,
      command: 'cutover',
      migration: config.name,
      planHash: null,
      ...currentOperator(),
    });
    const sw = config.cutover.switch;
    if (!resume) {
      await insertRecord(s.control, {
        id,
        direction: 'cutover',
        cutoverId: null,
        runId,
        ...currentOperator(),
        maxFreezeMs: config.cutover.maxWriteFreezeMs,
        envFile: sw?.envFile ?? null,
        variable: sw?.variable ?? null,
        newValueRedacted: sw ? redactUrl(sw.value) : null,
      });
    }
    const started = new Date();
    const progress: Progress = {
      phase: resume?.switchedAt ? 'switched' : 'before',
      backupFile: resume?.backupFile ?? null,
    };
    try {
      const ctx: CutoverContext = stepContext(
        { config, set, s, id, resume, o },
        {
          progress,
          catchUp: [],
          final: [],
          finalRan: false,
          sequences: 0,
          verificationId: null,
          freezeMs: null,
        },
      );
      await runSteps(steps, ctx);
      await updateRecord(s.control, id, { status: 'done', step: 'done', finished: true });
      const row = await latestRecord(s.control, 'cutover');
      const result = {
        id,
        status: 'done' as const,
        freezeMs: ctx.freezeMs,
        steps: row?.steps ?? [],
        sync: { catchUp: totals(ctx.catchUp), final: totals(ctx.final) },
        sequences: ctx.sequences,
        verificationId: ctx.verificationId,
      };
      await finishRun(s.control, runId, 'succeeded', { freezeMs: result.freezeMs });
      await appendAudit(s.control, {
        command: 'cutover',
        ...currentOperator(),
        runId,
        startedAt: started,
        outcome: 'done',
        counts: {
          freezeMs: result.freezeMs ?? 0,
          rowsWritten: result.sync.final.written + result.sync.catchUp.written,
          rowsDeleted: result.sync.final.deleted + result.sync.catchUp.deleted,
          sequences: result.sequences,
        },
      });
      return { ...result, plan };
    } catch (err) {
      const safe = withoutValues(err, 'cutover');
      const message = safe.message;
      let switched = progress.phase === 'switched';
      if (progress.phase === 'recording-switch') {
        // the record of the switch may or may not have committed: the state decides; when it cannot say, the
        // switch is taken as done (the source stays frozen; `pgshift cutover` or `pgshift rollback` settles it)
        const row = await latestRecord(s.control, 'cutover').catch(() => undefined);
        switched = row ? row.switchedAt !== null : true;
      }
      if (!switched) {
        // before the switch: lift the freeze through the source first (the target may be what failed), put the
        // env file back if it was written, change nothing else
        await liftFreeze(config, 'source', s.source);
        try {
          restoreIfSwitched(config, progress.backupFile);
        } catch {
          // the backup names the way back; status and the runbook say what to do
        }
        await updateRecord(s.control, id, { status: 'aborted', finished: true, frozenAt: null, error: message }).catch(
          () => undefined,
        );
      } else {
        await updateRecord(s.control, id, { error: message }).catch(() => undefined);
      }
      await finishRun(s.control, runId, 'failed', {}, message).catch(() => undefined);
      await appendAudit(s.control, {
        command: 'cutover',
        ...currentOperator(),
        runId,
        startedAt: started,
        outcome: switched ? 'failed-after-switch' : 'aborted',
      }).catch(() => undefined);
      throw safe;
    }
  } finally {
    await lock?.release().catch(() => undefined);
    await s.close();
  }
}
