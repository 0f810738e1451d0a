import type { CutoverRow } from '../../state/cutover.js';
import type { Step, StepContext } from '../step.js';
import type { SyncTotals } from '../steps/cutover-context.js';

/** In memory, so that the error path does not depend on the state answering: has the source been opened? */
export interface RollbackProgress {
  /** Set when the lift of the source's freeze began: from then on the rollback only goes forward. */
  sourceOpened: boolean;
}

/** What the steps of a rollback share and hand on. */
export interface RollbackContext extends StepContext {
  /** The cutover this rollback reverts (its id is the bypass of the source's freeze; its backup holds the old value). */
  readonly cutover: CutoverRow;
  readonly progress: RollbackProgress;
  /** What the catch-up carried to the source (from the resumed record when it ran in an earlier process). */
  caughtUp: SyncTotals;
  /** What the carry-back inside the freeze carried (likewise). */
  carried: SyncTotals;
  sequences: number;
}

export type RollbackStep = Step<RollbackContext>;
