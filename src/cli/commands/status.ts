import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { configFlag, jsonFlag } from '../flags.js';
import { notAvailableYet } from '../not-available.js';

export default class Status extends BaseCommand {
  static override description = 'Show the recorded state: per table progress, verification, cutover, lock holder, last runs.';
  static override flags = { config: configFlag, json: jsonFlag, audit: Flags.boolean({ description: 'Verify the audit trail hash chain.', default: false }) };

  async run(): Promise<void> {
    await this.parse(Status);
    throw notAvailableYet('status', 'state comes with the schema work');
  }
}
