import { makeFreezePermanent, unfreezeWrites } from '../freeze.js';
import { recordStep, recorded } from '../step.js';
import type { RollbackStep } from './rollback-context.js';

/**
 * The switch point of a rollback: the target's freeze becomes permanent first (refused when its deadline came
 * first: the application then stays on the target), then the source takes writes again.
 */
export const unfreezeSource: RollbackStep = {
  name: 'unfreeze-source',
  title: () => 'unfreeze the source',
  describe: () => 'drop the write freeze: the source takes writes again',
  done: (r) => recorded(r, 'unfreeze-source'),
  run: async (ctx) => {
    await recordStep(ctx, 'unfreeze-source', async () => {
      if (!ctx.progress.sourceOpened) {
        ctx.deadline().check('unfreezing the source');
        // the target's freeze covers the tables as the target names them (schemas.map)
        await makeFreezePermanent(ctx.s.target, ctx.id, ctx.set.targetRelations, {
          side: 'target',
          budgetMs: ctx.config.cutover.maxWriteFreezeMs,
        });
      }
      ctx.progress.sourceOpened = true;
      const n = await unfreezeWrites(ctx.s.source, { dropSchema: true });
      return { value: n, detail: `${n} tables take writes again` };
    });
  },
};
