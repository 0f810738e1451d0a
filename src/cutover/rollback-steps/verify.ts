import { PgshiftError } from '../../errors/index.js';
import { differing } from '../../verify/report.js';
import { runVerification } from '../../verify/run.js';
import { recordStep, recorded } from '../step.js';
import type { RollbackStep } from './rollback-context.js';

/** Before the source is opened: it holds what the target holds (full, strict). */
export const verifyBack: RollbackStep = {
  name: 'verify',
  title: () => 'verify',
  describe: () => 'the source holds what the target holds',
  done: (r) => recorded(r, 'verify'),
  run: async (ctx) => {
    ctx.deadline().check('the verification');
    await recordStep(ctx, 'verify', async () => {
      const v = await runVerification(ctx.config, { runId: ctx.id, full: true, strict: true });
      if (!v.ok) {
        throw new PgshiftError(
          'CUTOVER_ABORTED',
          `after the carry-back the source and the target still differ in ${differing(v.summary)}: the rollback was aborted`,
          {
            hint: `The application stays on the target (it takes writes again). Read the report: \`pgshift verify\` (report ${v.id}).`,
          },
        );
      }
      return { value: v.id, detail: `passed (${v.summary.rowsCompared} rows compared)` };
    });
    ctx.deadline().check('unfreezing the source');
  },
};
