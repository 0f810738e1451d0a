import { existsSync } from 'node:fs';
import { logger } from '../log/logger.js';
import { scrub } from '../log/redact.js';
import { removeBackupOf } from './backups.js';
import { introspect } from '../catalog/introspect.js';
import type { Config } from '../config/types.js';
import { PgshiftError } from '../errors/index.js';
import { Scope } from '../catalog/scope.js';
import { appendAudit } from '../state/audit.js';
import { stateDb } from '../state/db.js';
import { acquireLock, type LockHandle } from '../state/lock.js';
import { migrateState } from '../state/migrations.js';
import { currentOperator, finishRun, newRunId, startRun } from '../state/runs.js';
import { schemaNaming } from '../mapping/table-pairs.js';
import { migratedSet } from './context.js';
import { readBackup, readEnvFile, readEnvValue, setEnvValue, writeFileAtomic } from './env-file.js';
import { withoutValues } from './errors.js';
import { freezeStatus, unfreezeWrites } from './freeze.js';
import { liftFreeze } from './lift.js';
import { planOf, rollbackNotes, type CutoverPlan } from './plan.js';
import {
  cutOverTo,
  insertRecord,
  latestRecord,
  recordById,
  updateRecord,
  type CutoverRow,
  type StepRecord,
} from '../state/cutover.js';
import { rollbackSteps, unfreezeSource } from './rollback-steps/index.js';
import type { RollbackContext } from './rollback-steps/rollback-context.js';
import { openSessions, type Sessions } from './sessions.js';
import { runSteps, stepContext, type StepOptions } from './step.js';
import type { SyncTotals } from './steps/cutover-context.js';

export interface RollbackOptions extends StepOptions {
  confirm(plan: CutoverPlan): Promise<boolean>;
  /** Past the rollback window, or losing what the source cannot hold: go on anyway. */
  readonly force?: boolean;
}

export interface RollbackResult {
  readonly id: string | null;
  /** nothing: not cut over; lifted: an unfinished cutover's freeze was lifted; done: the application is back on the source. */
  readonly status: 'nothing' | 'lifted' | 'cancelled' | 'done';
  readonly plan: CutoverPlan | null;
  readonly freezeMs: number | null;
  /** Everything the rollback carried back to the source: the catch-up's and the carry-back's rows together. */
  readonly carriedBack: SyncTotals;
  /** The two parts: while the application still wrote on the target, and inside the target's freeze. */
  readonly catchUp: SyncTotals;
  readonly carryBack: SyncTotals;
  readonly sequences: number;
  /** What the source could not take (target-only tables and columns), carried only with --force: it is lost. */
  readonly lost: readonly string[];
  readonly steps: readonly StepRecord[];
}

/** Target-only tables (in the migrated schemas) and target-only columns of migrated tables: what a rollback cannot carry. */
async function whatWouldBeLost(config: Config, s: Sessions): Promise<string[]> {
  const [source, target] = await Promise.all([introspect(s.source), introspect(s.target)]);
  const scope = new Scope(config, source);
  const onSource = new Map(source.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  // target schema -> the source schema it holds (schemas.map); a source schema mapped away is not ours on the target
  const naming = schemaNaming(config);
  const mappedAway = new Set(
    Object.keys(config.schemas.map).filter((from) => !Object.values(config.schemas.map).includes(from)),
  );
  const lost: string[] = [];
  for (const t of target.tables) {
    const schema = mappedAway.has(t.schema) ? undefined : naming.onSource(t.schema);
    if (schema === undefined) continue;
    const src = onSource.get(`${schema}.${t.name}`);
    if (!src) {
      if (scope.schemaInScope(schema))
        lost.push(`table ${t.schema}.${t.name} (created on the target after the cutover)`);
      continue;
    }
    if (!scope.tableInScope(schema, t.name)) continue;
    const cols = new Set(src.columns.map((c) => c.name));
    for (const c of t.columns)
      if (!cols.has(c.name)) lost.push(`column ${t.schema}.${t.name}.${c.name} (added on the target)`);
  }
  return lost.sort();
}

const NONE: SyncTotals = { tables: 0, written: 0, deleted: 0 };

/** What a step of the resumed rollback recorded (counts `<prefix>Tables`, `Written`, `Deleted`), or nothing. */
function recordedTotals(resume: CutoverRow | undefined, prefix: 'caughtUp' | 'carried'): SyncTotals {
  const c = resume?.counts ?? {};
  return {
    tables: c[`${prefix}Tables`] ?? 0,
    written: c[`${prefix}Written`] ?? 0,
    deleted: c[`${prefix}Deleted`] ?? 0,
  };
}

/**
 * `pgshift rollback`: within cutover.rollback_window, puts the application back on the source without losing what
 * it wrote on the target: freeze the target, carry its changes back (the final sync, reversed), sequences, verify,
 * unfreeze the source, restore the env file's old value, run the switch command. Resumable like the cutover.
 */
export async function runRollback(config: Config, o: RollbackOptions): Promise<RollbackResult> {
  const s = await openSessions(config);
  const runId = newRunId();
  let lock: LockHandle | undefined;
  const result = (status: RollbackResult['status'], extra: Partial<RollbackResult> = {}): RollbackResult => ({
    id: null,
    status,
    plan: null,
    freezeMs: null,
    carriedBack: NONE,
    catchUp: NONE,
    carryBack: NONE,
    sequences: 0,
    lost: [],
    steps: [],
    ...extra,
  });
  try {
    // no state on the target (destroyed, or never applied): nothing was cut over, so a freeze pgshift left on the
    // source is a leftover: lift it, without creating a state
    const hasState =
      (await s.control.query<{ ok: boolean }>(`SELECT pg_catalog.to_regclass('pgshift.runs') IS NOT NULL AS ok`))
        .rows[0]?.ok === true;
    if (!hasState) {
      if ((await freezeStatus(s.source)).state === 'none') return result('nothing');
      await unfreezeWrites(s.source, { dropSchema: true });
      return result('lifted');
    }
    await migrateState(stateDb(s.control));
    const where = await cutOverTo(s.control);
    const last = where.record;
    lock = await acquireLock(s.control, { runId, command: 'rollback', ...currentOperator() });

    // a cutover stopped before its switch: lift its freeze, nothing else changed
    if (last?.direction === 'cutover' && last.status === 'running' && last.switchedAt === null) {
      const n = await unfreezeWrites(s.source, { dropSchema: true });
      // stopped between writing the env file and recording the switch: put the old value back
      const sw = config.cutover.switch;
      if (sw && last.backupFile && readEnvValue(readEnvFile(sw.envFile), sw.variable) === sw.value) {
        const b = readBackup(last.backupFile);
        writeFileAtomic(sw.envFile, setEnvValue(readEnvFile(sw.envFile), b.variable, b.value));
      }
      await updateRecord(s.control, last.id, {
        status: 'aborted',
        finished: true,
        frozenAt: null,
        error: 'rolled back before its switch: the freeze was lifted',
      });
      await appendAudit(s.control, {
        command: 'rollback',
        ...currentOperator(),
        runId,
        outcome: 'lifted',
        counts: { tablesUnfrozen: n },
      });
      return result('lifted', { id: last.id });
    }
    if (!where.cutOver || !last) {
      // not cut over: the application is on the source, so a freeze still there is a leftover (an error path that
      // could not reach it, a freeze that ended by itself): lift it
      if ((await freezeStatus(s.source)).state === 'none') return result('nothing');
      const n = await unfreezeWrites(s.source, { dropSchema: true });
      await appendAudit(s.control, {
        command: 'rollback',
        ...currentOperator(),
        runId,
        outcome: 'lifted',
        counts: { tablesUnfrozen: n },
      });
      return result('lifted');
    }

    let resume: CutoverRow | undefined = last.direction === 'rollback' && last.status === 'running' ? last : undefined;
    // the cutover to revert: the one a rollback in progress names, else the last cutover (never an aborted rollback's row)
    const cutover = resume
      ? resume.cutoverId
        ? await recordById(s.control, resume.cutoverId)
        : undefined
      : last.direction === 'cutover'
        ? last
        : await latestRecord(s.control, 'cutover');
    if (!cutover)
      throw new PgshiftError('INTERNAL', 'the rollback in progress names no cutover', {
        hint: 'Run `pgshift status`.',
      });
    if (
      !resume &&
      cutover.switchedAt &&
      Date.now() - cutover.switchedAt.getTime() > config.cutover.rollbackWindowMs &&
      !o.force
    ) {
      throw new PgshiftError(
        'ROLLBACK_REFUSED',
        `the cutover was ${Math.round((Date.now() - cutover.switchedAt.getTime()) / 60000)} min ago, past cutover.rollback_window (${Math.round(config.cutover.rollbackWindowMs / 60000)} min)`,
        {
          hint: 'The source may no longer be what you want to return to. Run `pgshift rollback --force` if you are sure.',
        },
      );
    }
    const set = await migratedSet(config, s.source);
    const lost = await whatWouldBeLost(config, s);
    if (lost.length > 0 && !o.force) {
      throw new PgshiftError(
        'ROLLBACK_REFUSED',
        `a rollback would lose what the source cannot hold: ${lost.join('; ')}`,
        {
          hint: 'Add them to the source first (same names and types), or run `pgshift rollback --force` to leave them behind on the target.',
        },
      );
    }
    // a target freeze made permanent by this rollback: it passed its switch point (the source was being opened), it
    // only goes forward now
    const sealed =
      resume !== undefined && resume.frozenAt !== null && (await freezeStatus(s.target)).state === 'permanent';
    // an interrupted rollback whose target freeze outlived the budget (or ended by itself on the server): lift it and start over
    if (
      resume &&
      resume.frozenAt &&
      !sealed &&
      !unfreezeSource.done(resume) &&
      (Date.now() - resume.frozenAt.getTime() >= config.cutover.maxWriteFreezeMs ||
        (await freezeStatus(s.target)).state === 'expired')
    ) {
      await unfreezeWrites(s.target, { dropSchema: false });
      await updateRecord(s.control, resume.id, {
        status: 'aborted',
        finished: true,
        error: 'interrupted; its write freeze outlived max_write_freeze and was lifted',
      });
      resume = undefined;
    }
    if (
      config.cutover.switch &&
      cutover.switchedAt &&
      (!cutover.backupFile || !existsSync(cutover.backupFile)) &&
      !o.force
    ) {
      throw new PgshiftError(
        'ROLLBACK_REFUSED',
        `the backup of ${config.cutover.switch.variable} written by the cutover (${cutover.backupFile ?? 'none recorded'}) is missing: the env file could not be put back`,
        {
          hint: `Run \`pgshift rollback --force\` to move the data back and set ${config.cutover.switch.variable} in ${config.cutover.switch.envFile} by hand.`,
        },
      );
    }
    const id = resume?.id ?? newRunId();
    const steps = rollbackSteps(config);
    const plan = planOf(steps, { config, set, id, resume, notes: rollbackNotes(lost) });
    if (!(await o.confirm(plan))) return result('cancelled', { id, plan });

    await startRun(s.control, {
      id: runId,
      command: 'rollback',
      migration: config.name,
      planHash: null,
      ...currentOperator(),
    });
    if (!resume) {
      await insertRecord(s.control, {
        id,
        direction: 'rollback',
        cutoverId: cutover.id,
        runId,
        ...currentOperator(),
        maxFreezeMs: config.cutover.maxWriteFreezeMs,
        envFile: cutover.envFile,
        variable: cutover.variable,
        newValueRedacted: null,
      });
    }
    const started = new Date();
    // in memory, so that the error path does not depend on the state answering: has the source been opened?
    const progress = { sourceOpened: (resume !== undefined && unfreezeSource.done(resume)) || sealed };
    try {
      const ctx: RollbackContext = stepContext(
        { config, set, s, id, resume, o },
        {
          cutover,
          progress,
          // a step finished by an earlier process is skipped: its figures come from the record
          caughtUp: recordedTotals(resume, 'caughtUp'),
          carried: recordedTotals(resume, 'carried'),
          sequences: 0,
        },
      );
      await runSteps(steps, ctx);
      const freezeMs = Date.now() - ctx.freezeStart();
      await updateRecord(s.control, id, { status: 'done', step: 'done', finished: true, freezeMs });
      const row = await latestRecord(s.control, 'rollback');
      const r = {
        id,
        status: 'done' as const,
        freezeMs,
        carriedBack: {
          tables: Math.max(ctx.caughtUp.tables, ctx.carried.tables),
          written: ctx.caughtUp.written + ctx.carried.written,
          deleted: ctx.caughtUp.deleted + ctx.carried.deleted,
        },
        catchUp: ctx.caughtUp,
        carryBack: ctx.carried,
        sequences: ctx.sequences,
        steps: row?.steps ?? [],
      };
      await updateRecord(s.control, cutover.id, { status: 'rolled_back' });
      // the env file holds the old value again: the backup it came from is of no use to anyone now
      try {
        removeBackupOf(cutover);
      } catch (err) {
        logger().warn({ error: scrub(String(err)) }, 'the env backup the rollback restored from could not be removed');
      }
      await finishRun(s.control, runId, 'succeeded', { freezeMs: r.freezeMs });
      await appendAudit(s.control, {
        command: 'rollback',
        ...currentOperator(),
        runId,
        startedAt: started,
        outcome: 'done',
        counts: {
          freezeMs: r.freezeMs ?? 0,
          rowsWritten: r.carriedBack.written,
          rowsDeleted: r.carriedBack.deleted,
          sequences: r.sequences,
          lost: lost.length,
        },
      });
      return { ...r, plan, lost };
    } catch (err) {
      const safe = withoutValues(err, 'rollback');
      const message = safe.message;
      if (!progress.sourceOpened) {
        // before the source took writes again: the application stays on the target, which takes writes again
        // (lifted through the session that froze it first, before the state is written)
        await liftFreeze(config, 'target', s.target);
        await updateRecord(s.control, id, { status: 'aborted', finished: true, frozenAt: null, error: message }).catch(
          () => undefined,
        );
      } else {
        await updateRecord(s.control, id, { error: message }).catch(() => undefined);
      }
      await finishRun(s.control, runId, 'failed', {}, message).catch(() => undefined);
      await appendAudit(s.control, {
        command: 'rollback',
        ...currentOperator(),
        runId,
        startedAt: started,
        outcome: 'failed',
      }).catch(() => undefined);
      throw safe;
    }
  } finally {
    await lock?.release().catch(() => undefined);
    await s.close();
  }
}
