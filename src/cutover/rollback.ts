import { existsSync } from 'node:fs';
import path from 'node:path';
import { introspect } from '../catalog/introspect.js';
import type { Config } from '../config/types.js';
import { PgshiftError } from '../errors/index.js';
import { redactUrl } from '../log/redact.js';
import { Scope } from '../catalog/scope.js';
import { appendAudit } from '../state/audit.js';
import { stateDb } from '../state/db.js';
import { acquireLock, type LockHandle } from '../state/lock.js';
import { migrateState } from '../state/migrations.js';
import { currentOperator, finishRun, newRunId, startRun } from '../state/runs.js';
import { runVerification } from '../verify/run.js';
import { directed, migratedSet, type MigratedSet } from './context.js';
import type { CutoverPlan, CutoverStepPlan, SyncTotals } from './cutover.js';
import { readBackup, readEnvFile, readEnvValue, setEnvValue, writeFileAtomic } from './env-file.js';
import { freezeStatus, frozenTables, makeFreezePermanent, unfreezeWrites } from './freeze.js';
import { runSwitchCommand } from './hook.js';
import { cutOverTo, insertRecord, latestRecord, recordById, updateRecord, type CutoverRow, type StepRecord } from '../state/cutover.js';
import { Deadline, freezeStep, liftFreeze, openSessions, step, type Sessions } from './steps.js';
import { withoutValues } from './errors.js';
import { snapshotXmin, syncSequences, syncTables } from './sync.js';

export interface RollbackOptions {
  confirm(plan: CutoverPlan): Promise<boolean>;
  onStep?(step: string, state: 'start' | 'done', detail?: string): void;
  /** Past the rollback window, or losing what the source cannot hold: go on anyway. */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
}

export interface RollbackResult {
  readonly id: string | null;
  /** nothing: not cut over; lifted: an unfinished cutover's freeze was lifted; done: the application is back on the source. */
  readonly status: 'nothing' | 'lifted' | 'cancelled' | 'done';
  readonly plan: CutoverPlan | null;
  readonly freezeMs: number | null;
  readonly carriedBack: SyncTotals;
  readonly sequences: number;
  /** What the source could not take (target-only tables and columns), carried only with --force: it is lost. */
  readonly lost: readonly string[];
  readonly steps: readonly StepRecord[];
}

const STEPS = ['started', 'catch-up', 'freeze-target', 'carry-back', 'sequences', 'verify', 'unfreeze-source', 'switching', 'switched', 'command', 'done'];
const at = (s: string): number => STEPS.indexOf(s);

/** Target-only tables (in the migrated schemas) and target-only columns of migrated tables: what a rollback cannot carry. */
async function whatWouldBeLost(config: Config, s: Sessions): Promise<string[]> {
  const [source, target] = await Promise.all([introspect(s.source), introspect(s.target)]);
  const scope = new Scope(config, source);
  const onSource = new Map(source.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  // target schema -> the source schema it holds (schemas.map); a source schema mapped away is not ours on the target
  const fromTarget = new Map(Object.entries(config.schemas.map).map(([from, to]) => [to, from]));
  const mappedAway = new Set(Object.keys(config.schemas.map));
  const lost: string[] = [];
  for (const t of target.tables) {
    const schema = fromTarget.get(t.schema) ?? (mappedAway.has(t.schema) ? undefined : t.schema);
    if (schema === undefined) continue;
    const src = onSource.get(`${schema}.${t.name}`);
    if (!src) {
      if (scope.schemaInScope(schema)) lost.push(`table ${t.schema}.${t.name} (created on the target after the cutover)`);
      continue;
    }
    if (!scope.tableInScope(schema, t.name)) continue;
    const cols = new Set(src.columns.map((c) => c.name));
    for (const c of t.columns) if (!cols.has(c.name)) lost.push(`column ${t.schema}.${t.name}.${c.name} (added on the target)`);
  }
  return lost.sort();
}

function planRollback(config: Config, set: MigratedSet, id: string, resumeFrom: string | null, lost: readonly string[]): CutoverPlan {
  const sw = config.cutover.switch;
  const from = resumeFrom ? at(resumeFrom) + 1 : 0;
  const steps: CutoverStepPlan[] = [];
  const add = (s: string, title: string, detail: string): void => {
    if (at(s) >= from) steps.push({ step: s, title, detail });
  };
  add('catch-up', 'catch up', 'carry what the application wrote on the target back to the source while it still writes there');
  add('freeze-target', 'freeze writes on target', `${set.relations.length} tables refuse writes; in-flight writes get ${config.cutover.drainTimeoutMs} ms`);
  add('carry-back', 'carry back', 'range checksums find what the application wrote on the target since the cutover; exactly those rows go back to the source, deletes included');
  add('sequences', 'sync sequences back', `${set.sequences.length} sequences set on the source from the target`);
  add('verify', 'verify', 'the source holds what the target holds');
  add('unfreeze-source', 'unfreeze the source', 'drop the write freeze: the source takes writes again');
  if (sw) {
    add('switching', `switch ${sw.variable} back`, `in ${sw.envFile} to its value before the cutover (from the 0600 backup)`);
    if (sw.command) add('command', 'run the switch command', sw.command);
  }
  const notes = ['The target stays frozen afterwards (stray writes to it fail) until the next `pgshift cutover`.'];
  for (const l of lost) notes.push(`LOST (not carried back, --force): ${l}`);
  return { id, resumeFrom, tables: set.tables.length, sequences: set.sequences.length, maxWriteFreezeMs: config.cutover.maxWriteFreezeMs, steps, notes };
}

const NONE: SyncTotals = { tables: 0, written: 0, deleted: 0 };

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
    id: null, status, plan: null, freezeMs: null, carriedBack: NONE, sequences: 0, lost: [], steps: [], ...extra,
  });
  try {
    // no state on the target (destroyed, or never applied): nothing was cut over, so a freeze pgshift left on the
    // source is a leftover: lift it, without creating a state
    const hasState = (await s.control.query<{ ok: boolean }>(`SELECT pg_catalog.to_regclass('pgshift.runs') IS NOT NULL AS ok`)).rows[0]?.ok === true;
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
      await updateRecord(s.control, last.id, { status: 'aborted', finished: true, frozenAt: null, error: 'rolled back before its switch: the freeze was lifted' });
      await appendAudit(s.control, { command: 'rollback', ...currentOperator(), runId, outcome: 'lifted', counts: { tablesUnfrozen: n } });
      return result('lifted', { id: last.id });
    }
    if (!where.cutOver || !last) {
      // not cut over: the application is on the source, so a freeze still there is a leftover (an error path that
      // could not reach it, a freeze that ended by itself): lift it
      if ((await freezeStatus(s.source)).state === 'none') return result('nothing');
      const n = await unfreezeWrites(s.source, { dropSchema: true });
      await appendAudit(s.control, { command: 'rollback', ...currentOperator(), runId, outcome: 'lifted', counts: { tablesUnfrozen: n } });
      return result('lifted');
    }

    let resume: CutoverRow | undefined = last.direction === 'rollback' && last.status === 'running' ? last : undefined;
    // the cutover to revert: the one a rollback in progress names, else the last cutover (never an aborted rollback's row)
    const cutover = resume ? (resume.cutoverId ? await recordById(s.control, resume.cutoverId) : undefined) : last.direction === 'cutover' ? last : await latestRecord(s.control, 'cutover');
    if (!cutover) throw new PgshiftError('INTERNAL', 'the rollback in progress names no cutover', { hint: 'Run `pgshift status`.' });
    if (!resume && cutover.switchedAt && Date.now() - cutover.switchedAt.getTime() > config.cutover.rollbackWindowMs && !o.force) {
      throw new PgshiftError('ROLLBACK_REFUSED', `the cutover was ${Math.round((Date.now() - cutover.switchedAt.getTime()) / 60000)} min ago, past cutover.rollback_window (${Math.round(config.cutover.rollbackWindowMs / 60000)} min)`, {
        hint: 'The source may no longer be what you want to return to. Run `pgshift rollback --force` if you are sure.',
      });
    }
    const set = await migratedSet(config, s.source);
    const lost = await whatWouldBeLost(config, s);
    if (lost.length > 0 && !o.force) {
      throw new PgshiftError('ROLLBACK_REFUSED', `a rollback would lose what the source cannot hold: ${lost.join('; ')}`, {
        hint: 'Add them to the source first (same names and types), or run `pgshift rollback --force` to leave them behind on the target.',
      });
    }
    // a target freeze made permanent by this rollback: it passed its switch point (the source was being opened), it
    // only goes forward now
    const sealed = resume !== undefined && resume.frozenAt !== null && (await freezeStatus(s.target)).state === 'permanent';
    // an interrupted rollback whose target freeze outlived the budget (or ended by itself on the server): lift it and start over
    if (
      resume && resume.frozenAt && !sealed && at(resume.step) < at('unfreeze-source') &&
      (Date.now() - resume.frozenAt.getTime() >= config.cutover.maxWriteFreezeMs || (await freezeStatus(s.target)).state === 'expired')
    ) {
      await unfreezeWrites(s.target, { dropSchema: false });
      await updateRecord(s.control, resume.id, { status: 'aborted', finished: true, error: 'interrupted; its write freeze outlived max_write_freeze and was lifted' });
      resume = undefined;
    }
    if (config.cutover.switch && cutover.switchedAt && (!cutover.backupFile || !existsSync(cutover.backupFile)) && !o.force) {
      throw new PgshiftError('ROLLBACK_REFUSED', `the backup of ${config.cutover.switch.variable} written by the cutover (${cutover.backupFile ?? 'none recorded'}) is missing: the env file could not be put back`, {
        hint: `Run \`pgshift rollback --force\` to move the data back and set ${config.cutover.switch.variable} in ${config.cutover.switch.envFile} by hand.`,
      });
    }
    const id = resume?.id ?? newRunId();
    const plan = planRollback(config, set, id, resume ? resume.step : null, lost);
    if (!(await o.confirm(plan))) return result('cancelled', { id, plan });

    await startRun(s.control, { id: runId, command: 'rollback', migration: config.name, planHash: null, ...currentOperator() });
    if (!resume) {
      await insertRecord(s.control, {
        id, direction: 'rollback', cutoverId: cutover.id, runId, ...currentOperator(), maxFreezeMs: config.cutover.maxWriteFreezeMs,
        envFile: cutover.envFile, variable: cutover.variable, newValueRedacted: null,
      });
    }
    const started = new Date();
    const from = resume ? at(resume.step) + 1 : 0;
    // in memory, so that the error path does not depend on the state answering: has the source been opened?
    const progress: RollbackProgress = { sourceOpened: from > at('unfreeze-source') || sealed };
    try {
      const r = await drive(config, s, set, id, cutover, from, resume, o, progress);
      await updateRecord(s.control, cutover.id, { status: 'rolled_back' });
      await finishRun(s.control, runId, 'succeeded', { freezeMs: r.freezeMs });
      await appendAudit(s.control, { command: 'rollback', ...currentOperator(), runId, startedAt: started, outcome: 'done', counts: { freezeMs: r.freezeMs ?? 0, rowsWritten: r.carriedBack.written, rowsDeleted: r.carriedBack.deleted, sequences: r.sequences, lost: lost.length } });
      return { ...r, plan, lost };
    } catch (err) {
      const safe = withoutValues(err, 'rollback');
      const message = safe.message;
      if (!progress.sourceOpened) {
        // before the source took writes again: the application stays on the target, which takes writes again
        // (lifted through the session that froze it first, before the state is written)
        await liftFreeze(config, 'target', s.target);
        await updateRecord(s.control, id, { status: 'aborted', finished: true, frozenAt: null, error: message }).catch(() => undefined);
      } else {
        await updateRecord(s.control, id, { error: message }).catch(() => undefined);
      }
      await finishRun(s.control, runId, 'failed', {}, message).catch(() => undefined);
      await appendAudit(s.control, { command: 'rollback', ...currentOperator(), runId, startedAt: started, outcome: 'failed' }).catch(() => undefined);
      throw safe;
    }
  } finally {
    await lock?.release().catch(() => undefined);
    await s.close();
  }
}

interface RollbackProgress {
  /** Set when the lift of the source's freeze began: from then on the rollback only goes forward. */
  sourceOpened: boolean;
}

async function drive(
  config: Config, s: Sessions, set: MigratedSet, id: string, cutover: CutoverRow, from: number, resume: CutoverRow | undefined, o: RollbackOptions,
  progress: RollbackProgress,
): Promise<Omit<RollbackResult, 'plan' | 'lost'>> {
  const ctl = s.control;
  const sw = config.cutover.switch;
  const cwd = config.file ? path.dirname(config.file) : undefined;
  let carried = NONE;
  let sequences = 0;
  let freezeStart = resume?.frozenAt?.getTime() ?? Date.now();
  // what the catch-up has seen: the carry-back inside the freeze compares only tables written since
  let sinceCatchUp: string | undefined;
  const toSource = directed(set, 'to-source');
  if (from <= at('catch-up')) {
    await step(ctl, id, 'catch-up', o, async () => {
      sinceCatchUp = await snapshotXmin(s.target);
      const r = await syncTables(toSource.tables, { from: s.target, to: s.source }, { bypassFreeze: cutover.id });
      const written = r.reduce((n, x) => n + x.written, 0);
      const deleted = r.reduce((n, x) => n + x.deleted, 0);
      return { value: undefined, detail: `${written} rows written, ${deleted} deleted on the source in ${r.length} tables` };
    });
  }
  if (from <= at('freeze-target')) freezeStart = await freezeStep(ctl, id, 'freeze-target', o, s.target, set.targetRelations, config, resume, 'target');
  const deadline = new Deadline(freezeStart, config.cutover.maxWriteFreezeMs, o.signal);
  if (from < at('unfreeze-source')) {
    deadline.check('the carry-back');
    if ((await frozenTables(s.target)).length < set.relations.length) {
      throw new PgshiftError('CUTOVER_ABORTED', 'the target is not (fully) frozen any more: the freeze ended or was removed while the rollback was stopped', { hint: 'Run `pgshift rollback` again.' });
    }
    carried = await step(ctl, id, 'carry-back', o, async () => {
      // the source is frozen by the cutover (its id is the bypass of pgshift's own writes)
      const r = await syncTables(toSource.tables, { from: s.target, to: s.source }, {
        bypassFreeze: cutover.id,
        checkDeadline: () => deadline.check('the carry-back'),
        ...(sinceCatchUp ? { unchangedSince: sinceCatchUp } : {}),
      });
      const t = { tables: r.length, written: r.reduce((n, x) => n + x.written, 0), deleted: r.reduce((n, x) => n + x.deleted, 0) };
      return { value: t, detail: `${t.written} rows written, ${t.deleted} deleted on the source in ${t.tables} tables`, counts: { carriedWritten: t.written, carriedDeleted: t.deleted } };
    });
    deadline.check('the sequences');
    sequences = await step(ctl, id, 'sequences', o, async () => {
      const n = await syncSequences(toSource.sequences, { from: s.target, to: s.source });
      return { value: n, detail: `${n} sequences set on the source`, counts: { sequences: n } };
    });
    deadline.check('the verification');
    await step(ctl, id, 'verify', o, async () => {
      const v = await runVerification(config, { runId: id, full: true, strict: true });
      if (!v.ok) {
        throw new PgshiftError('CUTOVER_ABORTED', `after the carry-back the source and the target still differ in ${v.summary.tablesWithDifferences} table(s): the rollback was aborted`, {
          hint: `The application stays on the target (it takes writes again). Read the report: \`pgshift verify\` (report ${v.id}).`,
        });
      }
      return { value: v.id, detail: `passed (${v.summary.rowsCompared} rows compared)` };
    });
    deadline.check('unfreezing the source');
  }
  if (from <= at('unfreeze-source')) {
    await step(ctl, id, 'unfreeze-source', o, async () => {
      // the switch point of a rollback: the target's freeze becomes permanent first (refused when its deadline
      // came first: the application then stays on the target), then the source takes writes again
      if (!progress.sourceOpened) {
        deadline.check('unfreezing the source');
        await makeFreezePermanent(s.target, id, set.relations, { side: 'target', budgetMs: config.cutover.maxWriteFreezeMs });
      }
      progress.sourceOpened = true;
      const n = await unfreezeWrites(s.source, { dropSchema: true });
      return { value: n, detail: `${n} tables take writes again` };
    });
  }
  if (sw && from <= at('switched')) {
    await step(ctl, id, 'switching', o, async () => {
      const file = cutover.envFile ?? sw.envFile;
      const backup = cutover.backupFile && existsSync(cutover.backupFile) ? readBackup(cutover.backupFile) : undefined;
      if (!backup) {
        await updateRecord(ctl, id, { switchedAt: 'now' });
        return { value: undefined, detail: `no backup of ${sw.variable}: ${file} left as it is (--force); set it by hand` };
      }
      const text = readEnvFile(file);
      if (readEnvValue(text, backup.variable) !== backup.value) writeFileAtomic(file, setEnvValue(text, backup.variable, backup.value));
      await updateRecord(ctl, id, { switchedAt: 'now' });
      return { value: undefined, detail: `${backup.variable} in ${file} is back to ${backup.value ? redactUrl(backup.value) : '(unset)'}` };
    });
  }
  if (sw?.command && from <= at('command')) {
    await step(ctl, id, 'command', o, async () => {
      const h = await runSwitchCommand(sw.command, { cwd, direction: 'rollback' });
      return { value: undefined, detail: `exit 0 in ${h.ms} ms` };
    });
  }
  const freezeMs = Date.now() - freezeStart;
  await updateRecord(ctl, id, { status: 'done', step: 'done', finished: true, freezeMs });
  const row = await latestRecord(ctl, 'rollback');
  return { id, status: 'done', freezeMs, carriedBack: carried, sequences, steps: row?.steps ?? [] };
}
