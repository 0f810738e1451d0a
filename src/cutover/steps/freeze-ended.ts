import { updateRecord } from '../../state/cutover.js';
import type { CutoverStep } from './cutover-context.js';

/** The freeze, as the application saw it, ends here (the application uses the target): its length is recorded. */
export const freezeEnded: CutoverStep = {
  name: 'freeze-ended',
  hidden: true,
  title: () => '',
  describe: () => '',
  done: () => false,
  run: async (ctx) => {
    ctx.freezeMs = Date.now() - ctx.freezeStart();
    await updateRecord(ctx.s.control, ctx.id, { freezeMs: ctx.freezeMs });
  },
};
