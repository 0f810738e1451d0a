import type { Config } from '../config/types.js';
import type { MigratedSet } from './context.js';
import type { CutoverRow } from '../state/cutover.js';
import { pendingSteps, type PlanInput, type Step, type StepContext } from './step.js';

/** One `>` line of the cutover (or rollback) plan. */
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

/** The plan of a run from its step list: exactly the steps `runSteps` will run, each drawn by the step itself. */
export function planOf<C extends StepContext>(
  steps: readonly Step<C>[],
  p: { config: Config; set: MigratedSet; id: string; resume: CutoverRow | undefined; notes: readonly string[] },
): CutoverPlan {
  const input: PlanInput = { config: p.config, set: p.set };
  return {
    id: p.id,
    resumeFrom: p.resume ? p.resume.step : null,
    tables: p.set.tables.length,
    sequences: p.set.sequences.length,
    maxWriteFreezeMs: p.config.cutover.maxWriteFreezeMs,
    steps: pendingSteps(steps, p.resume)
      .filter((s) => !s.hidden)
      .map((s) => ({ step: s.name, title: s.title(input), detail: s.describe(input) })),
    notes: p.notes,
  };
}

export function cutoverNotes(config: Config): string[] {
  const notes = [
    `The write freeze aborts (writes resume on the source, nothing else changes) if it would pass ${config.cutover.maxWriteFreezeMs} ms before the switch; should pgshift die inside it, the source ends it by itself at that deadline.`,
    'After the switch the source stays frozen (stray writes fail) until `pgshift rollback` lifts it.',
  ];
  if (!config.cutover.switch)
    notes.push(
      'No cutover.switch is configured: point the application at the target yourself once the cutover is done.',
    );
  return notes;
}

export function rollbackNotes(lost: readonly string[]): string[] {
  const notes = ['The target stays frozen afterwards (stray writes to it fail) until the next `pgshift cutover`.'];
  for (const l of lost) notes.push(`LOST (not carried back, --force): ${l}`);
  return notes;
}
