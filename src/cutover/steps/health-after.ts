import { checkApplicationUrl } from '../health.js';
import { recordStep, recorded } from '../step.js';
import { healthOptions, switchOf, type CutoverStep } from './cutover-context.js';

/** After the switch: the application URL again (its problems are reported, the cutover is done either way). */
export const healthAfter: CutoverStep = {
  name: 'health-after',
  title: () => 'check the application URL',
  describe: () => 'again, after the switch',
  done: (r) => recorded(r, 'health-after'),
  run: async (ctx) => {
    const sw = switchOf(ctx.config);
    await recordStep(ctx, 'health-after', async () => {
      const h = await checkApplicationUrl(sw.value, healthOptions(ctx.config, ctx));
      return { value: undefined, detail: h.ok ? `${h.latencyMs} ms` : `problems: ${h.problems.join('; ')}` };
    });
  },
};
