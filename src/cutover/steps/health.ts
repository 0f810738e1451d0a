import { PgshiftError } from '../../errors/index.js';
import { redactUrl } from '../../log/redact.js';
import { checkApplicationUrl } from '../health.js';
import { recordStep, recorded } from '../step.js';
import { healthOptions, switchOf, type CutoverStep } from './cutover-context.js';

/** Before anything changes: the URL the application will use after the switch answers (prepared statements off). */
export const health: CutoverStep = {
  name: 'health',
  title: () => 'check the application URL',
  describe: ({ config }) =>
    `${redactUrl(switchOf(config).value)} answers (prepared statements off), before anything changes`,
  done: (r) => recorded(r, 'health'),
  run: async (ctx) => {
    const sw = switchOf(ctx.config);
    await recordStep(ctx, 'health', async () => {
      const h = await checkApplicationUrl(sw.value, healthOptions(ctx.config, ctx));
      if (!h.ok) {
        throw new PgshiftError(
          'CUTOVER_ABORTED',
          `the application URL (${redactUrl(sw.value)}) does not work: ${h.problems.join('; ')}`,
          {
            hint: 'Nothing was changed. Fix cutover.switch.value (or the target), then run `pgshift cutover` again.',
          },
        );
      }
      return { value: undefined, detail: `${h.latencyMs} ms, ${h.pooling} pooling` };
    });
  },
};
