import { Flags } from '@oclif/core';
import { loadConfig } from '../../config/index.js';
import { runRollback, type RollbackResult } from '../../cutover/rollback.js';
import { BaseCommand } from '../base-command.js';
import { askYes } from '../confirm.js';
import { autoApproveFlag, configFlag, jsonFlag } from '../flags.js';
import { withInterrupt } from '../interrupt.js';
import { writeErr, writeJson, writeOut } from '../output.js';
import { renderCutoverPlan } from '../render/cutover.js';

function summary(r: RollbackResult): string {
  if (r.status === 'nothing') return 'Nothing to roll back: the application is not cut over to the target.';
  if (r.status === 'lifted' && !r.id)
    return 'A write freeze pgshift had left on the source is lifted: it takes writes again. Nothing else had changed.';
  if (r.status === 'lifted')
    return 'The unfinished cutover was stopped before its switch: its write freeze on the source is lifted. Nothing else had changed.';
  if (r.status === 'cancelled') return 'Rollback cancelled.';
  return [
    `Rollback complete! ${r.carriedBack.written} rows carried back to the source, ${r.carriedBack.deleted} deleted (catch-up ${r.catchUp.written} written, ${r.catchUp.deleted} deleted; carry-back in the freeze ${r.carryBack.written} written, ${r.carryBack.deleted} deleted), ${r.sequences} sequences set; write freeze ${r.freezeMs ?? 0} ms.`,
    'The application points at the source again; the target stays frozen until the next `pgshift cutover`.',
    ...(r.lost.length > 0 ? [`Left behind on the target (--force): ${r.lost.join('; ')}`] : []),
  ].join('\n');
}

export default class Rollback extends BaseCommand {
  static override description =
    'Revert a cutover within cutover.rollback_window: freeze the target, carry what the application wrote there back to the source, unfreeze the source, restore the env file, run the switch command.';
  static override flags = {
    config: configFlag,
    'auto-approve': autoApproveFlag,
    force: Flags.boolean({
      description: 'Roll back past the rollback window, or leaving behind what the source cannot hold (named first).',
      default: false,
    }),
    json: jsonFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Rollback);
    const config = loadConfig(flags.config);
    const result = await withInterrupt('rollback', (signal) =>
      runRollback(config, {
        signal,
        force: flags.force,
        confirm: async (plan) => {
          if (!flags.json) writeOut(renderCutoverPlan(plan, 'rollback'));
          if (flags['auto-approve']) return true;
          return askYes('Do you want pgshift to move the application back to the source?', 'rollback');
        },
        onStep: (step, state, detail) => {
          if (!flags.json && state === 'done') writeErr(`  > ${step}: ${detail ?? 'done'}`);
        },
      }),
    );
    if (flags.json) writeJson(result);
    else writeOut(summary(result));
  }
}
