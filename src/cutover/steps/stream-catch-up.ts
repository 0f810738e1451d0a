import { currentLsn, followTo } from '../stream-run.js';
import { recordStep, recorded } from '../step.js';
import type { CutoverStep } from './cutover-context.js';

/**
 * strategy stream, before the freeze: the change stream applies everything the source had written when the
 * cutover began, while the source still takes writes (what is left for inside the freeze is the replication lag).
 */
export const streamCatchUp: CutoverStep = {
  name: 'stream-catch-up',
  title: () => 'catch up (stream)',
  describe: () => 'the change stream applies what the source wrote until now, while it still takes writes',
  done: (r) => recorded(r, 'stream-catch-up'),
  run: async (ctx) => {
    await recordStep(ctx, 'stream-catch-up', async () => {
      const until = await currentLsn(ctx.s.source);
      const r = await followTo(ctx.config, ctx.s, until, ctx.o.signal ? { signal: ctx.o.signal } : {});
      return {
        value: r,
        detail: `${r.changes} changes in ${r.transactions} transactions applied up to ${r.appliedLsn ?? until}`,
        counts: { streamCatchUpChanges: r.changes },
      };
    });
  },
};
