import { loadConfig } from '../../config/index.js';
import { runCutover } from '../../cutover/cutover.js';
import { BaseCommand } from '../base-command.js';
import { askYes } from '../confirm.js';
import { autoApproveFlag, configFlag, jsonFlag } from '../flags.js';
import { writeErr, writeJson, writeOut } from '../output.js';
import { renderCutoverPlan, renderCutoverResult } from '../render/cutover.js';
import { withInterrupt } from '../interrupt.js';

export default class Cutover extends BaseCommand {
  static override description =
    'Cut the application over to the target: catch up, freeze writes on the source, final sync, sequences, verify, switch the env file, run the switch command. Resumes an interrupted cutover.';
  static override flags = { config: configFlag, 'auto-approve': autoApproveFlag, json: jsonFlag };

  async run(): Promise<void> {
    const { flags } = await this.parse(Cutover);
    const config = loadConfig(flags.config);
    const result = await withInterrupt('cutover', (signal) =>
      runCutover(config, {
        signal,
        confirm: async (plan) => {
          if (!flags.json) writeOut(renderCutoverPlan(plan));
          if (flags['auto-approve']) return true;
          return askYes('Do you want pgshift to cut the application over to the target?', 'cutover');
        },
        onStep: (step, state, detail) => {
          if (!flags.json && state === 'done') writeErr(`  > ${step}: ${detail ?? 'done'}`);
        },
      }),
    );
    if (flags.json) writeJson(result);
    else writeOut(renderCutoverResult(result, config.cutover.rollbackWindowMs));
  }
}
