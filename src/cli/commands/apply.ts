import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { autoApproveFlag, configFlag, jsonFlag } from '../flags.js';
import { notAvailableYet } from '../not-available.js';

export default class Apply extends BaseCommand {
  static override description = 'Apply a fresh plan (after confirmation) or exactly a saved plan.';
  static override flags = { config: configFlag, 'auto-approve': autoApproveFlag, parallel: Flags.integer({ description: 'Override copy.parallel.', min: 1, max: 64 }), json: jsonFlag };
  static override args = { planfile: Args.string({ description: 'A plan saved with plan --out.', required: false }) };

  async run(): Promise<void> {
    await this.parse(Apply);
    throw notAvailableYet('apply', 'apply comes with the schema and copy work');
  }
}
