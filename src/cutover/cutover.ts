import path from 'node:path';
import type { Config } from '../config/types.js';
import { PgshiftError } from '../errors/index.js';
import { redactUrl } from '../log/redact.js';
import { appendAudit } from '../state/audit.js';
import { stateDb } from '../state/db.js';
import { acquireLock, type LockHandle } from '../state/lock.js';
import { migrateState } from '../state/migrations.js';
import { currentOperator, finishRun, newRunId, startRun } from '../state/runs.js';
import { readState } from '../state/snapshot.js';
import { runVerification } from '../verify/run.js';
import { directed, migratedSet, type MigratedSet } from './context.js';
import { backupPath, checkEnvFile, readEnvFile, readEnvValue, restoreIfSwitched, setEnvValue, sha256, writeBackup, writeFileAtomic } from './env-file.js';
import { withoutValues } from './errors.js';
import { freezeStatus, frozenTables, makeFreezePermanent, unfreezeWrites } from './freeze.js';
import { checkApplicationUrl } from './health.js';
import { runSwitchCommand } from './hook.js';
import { cutoverBlockers } from './preconditions.js';
import { Deadline, freezeStep, liftFreeze, openSessions, step, type Sessions } from './steps.js';
import { cutOverTo, insertRecord, latestRecord, recordById, updateRecord, type CutoverRow, type StepRecord } from '../state/cutover.js';
import { snapshotXmin, syncSequences, syncTables, type TableSync } from './sync.js';

/** One `>` line of the cutover plan. */
export interface CutoverStepPlan {
  readonly step: string;
  readonly title: string;
  readonly detail: string;
}

export interface CutoverPlan {
  readonly id: string;
  /** Set when an interrupted cutover is resumed: the step it had reached. */
  readonly resumeFrom: string | null;
  readonly tables: number;
  readonly sequences: number;
  readonly maxWriteFreezeMs: number;
  readonly steps: readonly CutoverStepPlan[];
  readonly notes: readonly string[];
}

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

export interface SyncTotals {
  readonly tables: number;
  readonly written: number;
  readonly deleted: number;
}

export interface CutoverOptions {
  confirm(plan: CutoverPlan): Promise<boolean>;
  onStep?(step: string, state: 'start' | 'done', detail?: string): void;
  /** Stops before the switch (the freeze is lifted): SIGINT. */
  readonly signal?: AbortSignal;
}

/**
 * Where a running cutover stands, kept in memory so that its error path does not depend on the target answering:
 * before the switch (the freeze is lifted), while the switch is being recorded (unknown: the state decides), after.
 */
interface Progress {
  phase: 'before' | 'recording-switch' | 'switched';
  backupFile: string | null;
}

const STEP_ORDER = ['started', 'health', 'catch-up', 'freeze', 'final-sync', 'sequences', 'verify', 'switching', 'switched', 'command', 'health-after', 'done'];

export function stepIndex(step: string): number {
  return STEP_ORDER.indexOf(step);
}

function totals(list: readonly TableSync[]): SyncTotals {
  return { tables: list.length, written: list.reduce((n, t) => n + t.written, 0), deleted: list.reduce((n, t) => n + t.deleted, 0) };
}

export function planCutover(config: Config, set: MigratedSet, id: string, resumeFrom: string | null): CutoverPlan {
  const sw = config.cutover.switch;
  const steps: CutoverStepPlan[] = [];
  const from = resumeFrom ? stepIndex(resumeFrom) + 1 : 0;
  const add = (step: string, title: string, detail: string): void => {
    if (stepIndex(step) >= from || (step === 'final-sync' && from <= stepIndex('verify'))) steps.push({ step, title, detail });
  };
  if (sw) add('health', 'check the application URL', `${redactUrl(sw.value)} answers (prepared statements off), before anything changes`);
  add('catch-up', 'catch up', `re-copy what changed on the source since the copy, while it still takes writes (${set.tables.length} tables)`);
  add('freeze', 'freeze writes on source', `${set.relations.length} tables refuse writes; in-flight writes get ${config.cutover.drainTimeoutMs} ms (then ${config.cutover.onDrainTimeout})`);
  add('final-sync', 'final sync', 'range checksums find what changed since the catch-up; exactly those rows are re-copied, deletes included');
  add('sequences', 'sync sequences', `${set.sequences.length} sequences set from the source's final values`);
  add('verify', 'verify', `row counts + ${config.cutover.verify === 'full' ? 'full checksums (cutover.verify: full)' : `${config.verify.sample.percent}% sample of the tables the final sync wrote (it proved the others unchanged), schema, sequences`}`);
  if (sw) {
    add('switching', `switch ${sw.variable}`, `in ${sw.envFile} to ${redactUrl(sw.value)} (the old value kept in a 0600 backup next to it)`);
    if (sw.command) add('command', 'run the switch command', sw.command);
    add('health-after', 'check the application URL', 'again, after the switch');
  }
  const notes = [
    `The write freeze aborts (writes resume on the source, nothing else changes) if it would pass ${config.cutover.maxWriteFreezeMs} ms before the switch; should pgshift die inside it, the source ends it by itself at that deadline.`,
    'After the switch the source stays frozen (stray writes fail) until `pgshift rollback` lifts it.',
  ];
  if (!sw) notes.push('No cutover.switch is configured: point the application at the target yourself once the cutover is done.');
  return { id, resumeFrom, tables: set.tables.length, sequences: set.sequences.length, maxWriteFreezeMs: config.cutover.maxWriteFreezeMs, steps, notes };
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
    let resume: CutoverRow | undefined = where.record?.direction === 'cutover' && where.record.status === 'running' ? where.record : undefined;
    if (where.cutOver && !resume) {
      return { id: where.record?.id ?? '', status: 'already', plan: null, freezeMs: where.record?.freezeMs ?? null, steps: where.record?.steps ?? [], sync: { catchUp: totals([]), final: totals([]) }, sequences: 0, verificationId: null };
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
    lock = await acquireLock(s.control, { runId, command: 'cutover', ...currentOperator() });
    const set = await migratedSet(config, s.source);

    // an interrupted cutover whose freeze has outlived its budget (or ended by itself on the server) is lifted and started over
    if (
      resume && resume.switchedAt === null && resume.frozenAt !== null &&
      (Date.now() - resume.frozenAt.getTime() >= config.cutover.maxWriteFreezeMs || (await freezeStatus(s.source)).state === 'expired')
    ) {
      await unfreezeWrites(s.source, { dropSchema: true });
      restoreIfSwitched(config, resume.backupFile);
      await updateRecord(s.control, resume.id, { status: 'aborted', finished: true, error: 'interrupted; its write freeze outlived max_write_freeze and was lifted by the next cutover' });
      resume = undefined;
    }
    const id = resume?.id ?? newRunId();
    const plan = planCutover(config, set, id, resume ? resume.step : null);
    // declining (or Ctrl-C at the question) to resume a cutover stopped inside its freeze must not leave the source frozen
    const declined = async (why: string): Promise<void> => {
      if (resume && resume.switchedAt === null && (await frozenTables(s.source)).length > 0) {
        await unfreezeWrites(s.source, { dropSchema: true });
        restoreIfSwitched(config, resume.backupFile);
        await updateRecord(s.control, resume.id, { status: 'aborted', finished: true, frozenAt: null, error: `its resume was ${why}: the write freeze was lifted` });
      }
    };
    const approved = await o.confirm(plan).catch(async (err: unknown) => {
      await declined('interrupted');
      throw err;
    });
    if (!approved) {
      await declined('declined');
      return { id, status: 'cancelled', plan, freezeMs: null, steps: [], sync: { catchUp: totals([]), final: totals([]) }, sequences: 0, verificationId: null };
    }
    if (config.cutover.switch && !(resume?.switchedAt)) checkEnvFile(config.cutover.switch, resume?.backupFile ?? null);

    // a rollback leaves the target frozen against stray writes; a new cutover lifts that first (the app is on the source)
    if (!resume && (await frozenTables(s.target)).length > 0) await unfreezeWrites(s.target, { dropSchema: false });
    await startRun(s.control, { id: runId, command: 'cutover', migration: config.name, planHash: null, ...currentOperator() });
    const sw = config.cutover.switch;
    if (!resume) {
      await insertRecord(s.control, {
        id, direction: 'cutover', cutoverId: null, runId, ...currentOperator(), maxFreezeMs: config.cutover.maxWriteFreezeMs,
        envFile: sw?.envFile ?? null, variable: sw?.variable ?? null, newValueRedacted: sw ? redactUrl(sw.value) : null,
      });
    }
    const at = resume ? stepIndex(resume.step) + 1 : 0;
    const started = new Date();
    const progress: Progress = { phase: resume?.switchedAt ? 'switched' : 'before', backupFile: resume?.backupFile ?? null };
    try {
      const result = await drive(config, s, set, id, at, resume, o, progress);
      await finishRun(s.control, runId, 'succeeded', { freezeMs: result.freezeMs });
      await appendAudit(s.control, { command: 'cutover', ...currentOperator(), runId, startedAt: started, outcome: 'done', counts: { freezeMs: result.freezeMs ?? 0, rowsWritten: result.sync.final.written + result.sync.catchUp.written, rowsDeleted: result.sync.final.deleted + result.sync.catchUp.deleted, sequences: result.sequences } });
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
        await updateRecord(s.control, id, { status: 'aborted', finished: true, frozenAt: null, error: message }).catch(() => undefined);
      } else {
        await updateRecord(s.control, id, { error: message }).catch(() => undefined);
      }
      await finishRun(s.control, runId, 'failed', {}, message).catch(() => undefined);
      await appendAudit(s.control, { command: 'cutover', ...currentOperator(), runId, startedAt: started, outcome: switched ? 'failed-after-switch' : 'aborted' }).catch(() => undefined);
      throw safe;
    }
  } finally {
    await lock?.release().catch(() => undefined);
    await s.close();
  }
}

async function drive(
  config: Config, s: Sessions, set: MigratedSet, id: string, at: number, resume: CutoverRow | undefined, o: CutoverOptions, progress: Progress,
): Promise<Omit<CutoverResult, 'plan'>> {
  const sw = config.cutover.switch;
  const ctl = s.control;
  const toTarget = directed(set, 'to-target');
  const cwd = config.file ? path.dirname(config.file) : undefined;
  // the application URL reaches the target: its tables as the target names them
  const healthTables = set.pairs.slice(0, 3).map((p) => ({ schema: p.target.schema, name: p.target.name }));
  let catchUp: TableSync[] = [];
  let final: TableSync[] = [];
  let sequences = 0;
  let verificationId: string | null = null;
  let finalRan = false;

  if (sw && at <= stepIndex('health')) {
    await step(ctl, id, 'health', o, async () => {
      const h = await checkApplicationUrl(sw.value, { tables: healthTables, ...(config.target.caFile ? { caFile: config.target.caFile } : {}), ...(config.target.sslMode ? { sslMode: config.target.sslMode } : {}) });
      if (!h.ok) {
        throw new PgshiftError('CUTOVER_ABORTED', `the application URL (${redactUrl(sw.value)}) does not work: ${h.problems.join('; ')}`, {
          hint: 'Nothing was changed. Fix cutover.switch.value (or the target), then run `pgshift cutover` again.',
        });
      }
      return { value: undefined, detail: `${h.latencyMs} ms, ${h.pooling} pooling` };
    });
  }
  // what the catch-up has seen: the final sync compares only tables written since (or whose counts moved)
  let sinceCatchUp: string | undefined;
  if (at <= stepIndex('catch-up')) {
    catchUp = await step(ctl, id, 'catch-up', o, async () => {
      sinceCatchUp = await snapshotXmin(s.source);
      const r = await syncTables(toTarget.tables, { from: s.source, to: s.target });
      const t = totals(r);
      return { value: r, detail: `${t.written} rows written, ${t.deleted} deleted in ${t.tables} tables`, counts: { catchUpWritten: t.written, catchUpDeleted: t.deleted } };
    });
  }

  // the freeze: its budget counts from the first lock request (writers wait from then)
  let freezeStart = resume?.frozenAt?.getTime() ?? Date.now();
  if (at <= stepIndex('freeze')) freezeStart = await freezeStep(ctl, id, 'freeze', o, s.source, set.relations, config, resume, 'source');
  const deadline = new Deadline(freezeStart, config.cutover.maxWriteFreezeMs, o.signal);
  if (at < stepIndex('switching')) {
    deadline.check('the final sync');
    if ((await frozenTables(s.source)).length < set.relations.length) {
      throw new PgshiftError('CUTOVER_ABORTED', 'the source is not (fully) frozen any more: the freeze ended or its triggers were removed while the cutover was stopped', { hint: 'Run `pgshift cutover` again.' });
    }
    const budget = `SET statement_timeout = ${Math.max(1, deadline.remaining())}`;
    await Promise.all([s.source.query(budget), s.target.query(budget)]);
    try {
      finalRan = sinceCatchUp !== undefined;
      final = await step(ctl, id, 'final-sync', o, async () => {
        const r = await syncTables(toTarget.tables, { from: s.source, to: s.target }, {
          checkDeadline: () => deadline.check('the final sync'),
          ...(sinceCatchUp ? { unchangedSince: sinceCatchUp } : {}),
        });
        const t = totals(r);
        return { value: r, detail: `${t.written} rows written, ${t.deleted} deleted in ${t.tables} tables`, counts: { finalWritten: t.written, finalDeleted: t.deleted } };
      });
      deadline.check('the sequences');
      sequences = await step(ctl, id, 'sequences', o, async () => {
        const n = await syncSequences(toTarget.sequences, { from: s.source, to: s.target });
        return { value: n, detail: `${n} sequences set`, counts: { sequences: n } };
      });
    } catch (err) {
      if ((err as { code?: string }).code === '57014') deadline.check('the final sync');
      throw err;
    } finally {
      await Promise.all([s.source.query('SET statement_timeout = 0'), s.target.query('SET statement_timeout = 0')]).catch(() => undefined);
    }
    deadline.check('the verification');
    verificationId = await step(ctl, id, 'verify', o, async () => {
      // the tables the final sync did not touch were proven unchanged inside this freeze (xmin and counts); a
      // sync that did not run here (a resume) proves nothing: then every table is compared
      const touched = finalRan ? new Set(final.map((t) => t.table)) : undefined;
      const v = await runVerification(config.cutover.verify === 'full' ? config : { ...config, verify: { ...config.verify, checksums: 'sampled' } }, {
        runId: id,
        strict: true,
        ...(touched && config.cutover.verify !== 'full' ? { onlyTables: touched } : {}),
      });
      if (!v.ok) {
        throw new PgshiftError('CUTOVER_ABORTED', `the verification inside the freeze found differences in ${v.summary.tablesWithDifferences} table(s) and ${v.summary.schemaDifferences} schema object(s): the cutover was aborted`, {
          hint: `Nothing was switched and the source takes writes again. Read the report: \`pgshift verify\` (report ${v.id}).`,
        });
      }
      return { value: v.id, detail: `passed (${v.summary.rowsCompared} rows compared, report ${v.id})` };
    });
    deadline.check('the switch');
  }

  // the switch point: the source's freeze becomes permanent first (refused when its deadline came first: then the
  // switch does not happen), so a crash from here on cannot leave the source taking writes after the switch
  const seal = async (): Promise<void> => {
    if (progress.phase === 'switched') return; // resumed after the switch was recorded: the freeze is on purpose now
    deadline.check('the switch');
    await makeFreezePermanent(s.source, id, set.relations, { side: 'source', budgetMs: config.cutover.maxWriteFreezeMs });
  };
  const recordSwitch = async (): Promise<void> => {
    progress.phase = 'recording-switch';
    await updateRecord(ctl, id, { switchedAt: 'now' });
    progress.phase = 'switched';
  };
  if (sw && at <= stepIndex('switched')) {
    await step(ctl, id, 'switching', o, async () => {
      await seal();
      const backup = backupPath(sw.envFile, id);
      const text = readEnvFile(sw.envFile);
      const current = readEnvValue(text, sw.variable);
      // resumed after the file was written: the backup already holds the old value
      if (current === sw.value && !(await recordById(ctl, id))?.backupFile) {
        throw new PgshiftError('ENV_FILE_INVALID', `${sw.variable} in ${sw.envFile} already holds the new value, and pgshift has no backup of the value before it`, {
          hint: `A rollback could not restore it. Put the application's current value back in ${sw.envFile}, then run \`pgshift cutover\` again.`,
        });
      }
      if (current !== sw.value) {
        writeBackup(backup, sw.variable, current);
        await updateRecord(ctl, id, { backupFile: backup, oldValueSha256: sha256(current) });
        progress.backupFile = backup;
        writeFileAtomic(sw.envFile, setEnvValue(text, sw.variable, sw.value));
      }
      await recordSwitch();
      return { value: undefined, detail: `${sw.variable} in ${sw.envFile} now points at ${redactUrl(sw.value)}` };
    });
  } else if (!sw && at <= stepIndex('switched')) {
    await seal();
    await recordSwitch();
  }
  if (sw?.command && at <= stepIndex('command')) {
    await step(ctl, id, 'command', o, async () => {
      const h = await runSwitchCommand(sw.command, { cwd, direction: 'cutover' });
      return { value: undefined, detail: `exit 0 in ${h.ms} ms` };
    });
  }
  const freezeMs = Date.now() - freezeStart;
  await updateRecord(ctl, id, { freezeMs });
  if (sw && at <= stepIndex('health-after')) {
    await step(ctl, id, 'health-after', o, async () => {
      const h = await checkApplicationUrl(sw.value, { tables: healthTables, ...(config.target.caFile ? { caFile: config.target.caFile } : {}), ...(config.target.sslMode ? { sslMode: config.target.sslMode } : {}) });
      return { value: undefined, detail: h.ok ? `${h.latencyMs} ms` : `problems: ${h.problems.join('; ')}` };
    });
  }
  await updateRecord(ctl, id, { status: 'done', step: 'done', finished: true });
  const row = await latestRecord(ctl, 'cutover');
  return { id, status: 'done', freezeMs, steps: row?.steps ?? [], sync: { catchUp: totals(catchUp), final: totals(final) }, sequences, verificationId };
}
