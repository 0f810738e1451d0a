import { directed } from '../context.js';
import { withinBudget } from '../deadline.js';
import { recordStep, recorded } from '../step.js';
import { syncSequences } from '../sync.js';
import type { CutoverStep } from './cutover-context.js';

/** Inside the freeze: every migrated sequence set from the source's final value (again on a resume, until verified). */
export const sequences: CutoverStep = {
  name: 'sequences',
  title: () => 'sync sequences',
  describe: ({ set }) => `${set.sequences.length} sequences set from the source's final values`,
  done: (r) => recorded(r, 'verify'),
  run: async (ctx) => {
    const deadline = ctx.deadline();
    deadline.check('the sequences');
    ctx.sequences = await withinBudget(deadline, [ctx.s.source, ctx.s.target], 'the sequences', () =>
      recordStep(ctx, 'sequences', async () => {
        const n = await syncSequences(directed(ctx.set, 'to-target').sequences, {
          from: ctx.s.source,
          to: ctx.s.target,
        });
        return { value: n, detail: `${n} sequences set`, counts: { sequences: n } };
      }),
    );
  },
};
