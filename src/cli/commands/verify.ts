import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { configFlag, jsonFlag } from '../flags.js';
import { notAvailableYet } from '../not-available.js';

export default class Verify extends BaseCommand {
  static override description = 'Run the verification policy now and print the report.';
  static override flags = { config: configFlag, full: Flags.boolean({ description: 'Full range checksums, whatever the policy says.', default: false }), json: jsonFlag };

  async run(): Promise<void> {
    await this.parse(Verify);
    throw notAvailableYet('verify', 'verification comes with the verification work');
  }
}
