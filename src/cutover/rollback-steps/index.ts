import type { Config } from '../../config/types.js';
import { switchCommand } from '../steps/command.js';
import { carryBack } from './carry-back.js';
import { catchUpBack } from './catch-up.js';
import { freezeTarget } from './freeze-target.js';
import type { RollbackContext, RollbackStep } from './rollback-context.js';
import { sequencesBack } from './sequences.js';
import { switchBack } from './switch-back.js';
import { unfreezeSource } from './unfreeze-source.js';
import { verifyBack } from './verify.js';

/** The steps of a rollback, in order (a new step: a file of this folder and one line here). */
export function rollbackSteps(config: Config): RollbackStep[] {
  const sw = config.cutover.switch;
  return [
    catchUpBack,
    freezeTarget,
    carryBack,
    sequencesBack,
    verifyBack,
    unfreezeSource,
    ...(sw ? [switchBack] : []),
    ...(sw?.command ? [switchCommand<RollbackContext>('rollback')] : []),
  ];
}

export { unfreezeSource };
