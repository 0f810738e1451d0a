import { recorded } from '../step.js';
import { freezeSide } from '../steps/freeze.js';
import type { RollbackStep } from './rollback-context.js';

/** The write freeze on the target (as the target names the tables), like the cutover's on the source. */
export const freezeTarget: RollbackStep = {
  name: 'freeze-target',
  title: () => 'freeze writes on target',
  describe: ({ config, set }) =>
    `${set.relations.length} tables refuse writes; in-flight writes get ${config.cutover.drainTimeoutMs} ms`,
  done: (r) => recorded(r, 'freeze-target'),
  run: (ctx) => freezeSide(ctx, 'freeze-target', ctx.s.target, ctx.set.targetRelations, 'target'),
};
