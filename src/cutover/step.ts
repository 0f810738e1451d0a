import type { Config } from '../config/types.js';
import { logger } from '../log/logger.js';
import type { MigratedSet } from './context.js';
import { Deadline } from './deadline.js';
import { updateRecord, type CutoverRow } from '../state/cutover.js';
import type { Sessions } from './sessions.js';

/**
 * The step model of a cutover and a rollback. Each step is a typed handler in its own file (src/cutover/steps for
 * the cutover, src/cutover/rollback-steps for the rollback); a list in its folder's index.ts puts them in order.
 * `runSteps` walks that list; a resumed run skips every step whose `done` finds it finished in the record of the run
 * it resumes (pgshift.cutover.steps), so no step index is ever compared. The same list, filtered the same way,
 * is the plan shown before the question: what the plan lists is what runs.
 */

export interface StepOptions {
  onStep?(step: string, state: 'start' | 'done', detail?: string): void;
  /** Stops the run inside the freeze (the freeze is lifted): SIGINT, SIGHUP, SIGTERM. */
  readonly signal?: AbortSignal;
}

/** What a step's plan line is drawn from. */
export interface PlanInput {
  readonly config: Config;
  readonly set: MigratedSet;
}

/** What every step of one cutover (or rollback) shares. Steps of one direction extend it with what they hand on. */
export interface StepContext extends PlanInput {
  readonly s: Sessions;
  /** The id of the cutover (or rollback): its row in pgshift.cutover, the bypass value of its freeze. */
  readonly id: string;
  /** The record of the interrupted run this one resumes, as it stood when this run started; undefined: a new run. */
  readonly resume: CutoverRow | undefined;
  readonly o: StepOptions;
  /** What the catch-up of this process has seen (an xmin snapshot): the sync inside the freeze compares only tables written since. */
  sinceCatchUp: string | undefined;
  /** Set by the freeze step when it (re)placed the freeze: when its budget began. */
  frozeAt: number | undefined;
  /** When the freeze began: the freeze step's time, else the resumed record's (fixed at its first use). */
  freezeStart(): number;
  /** The freeze's budget, from `freezeStart()`, and the interrupt signal. */
  deadline(): Deadline;
}

export interface Step<C extends StepContext> {
  /** Its name in pgshift.cutover (step, steps) and in the fault hooks. */
  readonly name: string;
  /** A point of the run that is no step of the plan (e.g. the switch point without cutover.switch). */
  readonly hidden?: boolean;
  title(p: PlanInput): string;
  describe(p: PlanInput): string;
  /** Whether the record of the run being resumed shows this step finished: the resumed run skips it. */
  done(record: CutoverRow): boolean;
  run(ctx: C): Promise<void>;
}

/** Whether the record holds a finished step of that name. */
export function recorded(record: CutoverRow, name: string): boolean {
  return record.steps.some((s) => s.step === name);
}

/** A step context: the shared part, with `extra` (what the steps of one direction hand on) in the same object. */
export function stepContext<X extends object>(
  init: { config: Config; set: MigratedSet; s: Sessions; id: string; resume: CutoverRow | undefined; o: StepOptions },
  extra: X,
): StepContext & X {
  let start: number | undefined;
  let deadline: Deadline | undefined;
  const ctx: StepContext & X = {
    ...init,
    ...extra,
    sinceCatchUp: undefined,
    frozeAt: undefined,
    freezeStart: () => (start ??= ctx.frozeAt ?? init.resume?.frozenAt?.getTime() ?? Date.now()),
    deadline: () => (deadline ??= new Deadline(ctx.freezeStart(), init.config.cutover.maxWriteFreezeMs, init.o.signal)),
  };
  return ctx;
}

/** The steps a run will perform, in order: all of them, or on a resume those its record does not show finished. */
export function pendingSteps<C extends StepContext>(
  steps: readonly Step<C>[],
  resume: CutoverRow | undefined,
): Step<C>[] {
  return steps.filter((step) => !resume || !step.done(resume));
}

/** Walks the ordered steps; on a resume, the steps already finished (by the record) are skipped. */
export async function runSteps<C extends StepContext>(steps: readonly Step<C>[], ctx: C): Promise<void> {
  for (const step of pendingSteps(steps, ctx.resume)) await step.run(ctx);
}

/**
 * Runs the effect of a step and records it as finished in pgshift.cutover (one statement), with the fault hooks
 * around it: before the effect, after the effect (before its record), after its record.
 */
export async function recordStep<T>(
  ctx: StepContext,
  name: string,
  fn: () => Promise<{ value: T; detail: string; counts?: Record<string, number> }>,
): Promise<T> {
  const started = performance.now();
  ctx.o.onStep?.(name, 'start');
  await faultPoint(name, 'before');
  const r = await fn();
  await faultPoint(name, 'effect');
  const ms = Math.round(performance.now() - started);
  await updateRecord(ctx.s.control, ctx.id, {
    step: name,
    done: { step: name, ms, detail: r.detail },
    ...(r.counts ? { counts: r.counts } : {}),
  });
  await faultPoint(name, 'after');
  ctx.o.onStep?.(name, 'done', r.detail);
  logger().debug({ step: name, ms }, `${name} done`);
  return r.value;
}

/**
 * Crash testing: PGSHIFT_FAULT_KILL=<step>:<before|effect|after> makes the process SIGKILL itself at that point of
 * a cutover or rollback step (before it, after its effect but before its record, after its record). The tests
 * prove that every such crash leaves a state from which `cutover` or `rollback` completes.
 * PGSHIFT_FAULT_PAUSE=<step>:<when>:<ms> holds the process there for that long (a slow step), after printing
 * `pgshift: paused at <step>:<when>` on stderr, so that a test can signal it at a known point.
 */
export async function faultPoint(step: string, when: 'before' | 'effect' | 'after'): Promise<void> {
  if (process.env.PGSHIFT_FAULT_KILL === `${step}:${when}`) process.kill(process.pid, 'SIGKILL');
  const pause = process.env.PGSHIFT_FAULT_PAUSE;
  if (pause?.startsWith(`${step}:${when}:`)) {
    const ms = Number(pause.slice(step.length + when.length + 2));
    process.stderr.write(`pgshift: paused at ${step}:${when}\n`);
    if (Number.isFinite(ms) && ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }
}
