import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { notAvailableYet } from '../not-available.js';

export default class Demo extends BaseCommand {
  static override description = 'Run the whole flow on embedded Postgres servers, nothing to install or configure.';
  static override flags = { keep: Flags.boolean({ description: 'Leave the servers running and print how to connect.', default: false }) };

  async run(): Promise<void> {
    await this.parse(Demo);
    throw notAvailableYet('demo', 'the demo comes with the cutover work');
  }
}
