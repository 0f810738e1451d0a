import type { Config } from '../../config/types.js';
import { catchUp } from './catch-up.js';
import { switchCommand } from './command.js';
import type { CutoverContext, CutoverStep } from './cutover-context.js';
import { finalSync } from './final-sync.js';
import { freezeEnded } from './freeze-ended.js';
import { freeze } from './freeze.js';
import { healthAfter } from './health-after.js';
import { health } from './health.js';
import { sequences } from './sequences.js';
import { switchEnvFile, switchPoint } from './switch.js';
import { verify } from './verify.js';
import { streamCatchUp } from './stream-catch-up.js';
import { streamEnd } from './stream-end.js';
import { streamFence } from './stream-fence.js';
import type { CutoverStrategy } from '../strategy.js';

/**
 * The steps of a cutover, in order. A new step is a file of this folder exporting a `CutoverStep` (its name, plan
 * line, `done` by the record, `run`) and one line here; the plan, the resume and the fault hooks follow from it.
 */
export function cutoverSteps(config: Config, strategy: CutoverStrategy = 'freeze'): CutoverStep[] {
  const sw = config.cutover.switch;
  return [
    ...(sw ? [health] : []),
    ...(strategy === 'stream' ? [streamCatchUp, freeze, streamFence] : [catchUp, freeze, finalSync]),
    sequences,
    verify,
    sw ? switchEnvFile : switchPoint,
    ...(sw?.command ? [switchCommand<CutoverContext>('cutover')] : []),
    freezeEnded,
    ...(sw ? [healthAfter] : []),
    ...(strategy === 'stream' ? [streamEnd] : []),
  ];
}
