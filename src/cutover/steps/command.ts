import path from 'node:path';
import { runSwitchCommand } from '../hook.js';
import { recordStep, recorded, type Step, type StepContext } from '../step.js';
import { switchOf } from './cutover-context.js';

/** cutover.switch.command after the env file changed (a cutover's or a rollback's: PGSHIFT_SWITCH_DIRECTION). */
export function switchCommand<C extends StepContext>(direction: 'cutover' | 'rollback'): Step<C> {
  return {
    name: 'command',
    title: () => 'run the switch command',
    describe: ({ config }) => switchOf(config).command ?? '',
    done: (r) => recorded(r, 'command'),
    run: async (ctx) => {
      const command = switchOf(ctx.config).command ?? '';
      const cwd = ctx.config.file ? path.dirname(ctx.config.file) : undefined;
      await recordStep(ctx, 'command', async () => {
        const h = await runSwitchCommand(command, { cwd, direction });
        return { value: undefined, detail: `exit 0 in ${h.ms} ms` };
      });
    },
  };
}
