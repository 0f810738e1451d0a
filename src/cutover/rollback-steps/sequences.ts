import { directed } from '../context.js';
import { recordStep, recorded } from '../step.js';
import { syncSequences } from '../sync.js';
import type { RollbackStep } from './rollback-context.js';

/** Inside the target's freeze: the source's sequences set from the target's values. */
export const sequencesBack: RollbackStep = {
  name: 'sequences',
  title: () => 'sync sequences back',
  describe: ({ set }) => `${set.sequences.length} sequences set on the source from the target`,
  done: (r) => recorded(r, 'verify'),
  run: async (ctx) => {
    ctx.deadline().check('the sequences');
    ctx.sequences = await recordStep(ctx, 'sequences', async () => {
      const n = await syncSequences(directed(ctx.set, 'to-source').sequences, { from: ctx.s.target, to: ctx.s.source });
      return { value: n, detail: `${n} sequences set on the source`, counts: { sequences: n } };
    });
  },
};
