import { BaseCommand } from '../base-command.js';
import { autoApproveFlag, configFlag } from '../flags.js';
import { notAvailableYet } from '../not-available.js';

export default class Destroy extends BaseCommand {
  static override description = 'Remove from the target what pgshift created there, and its state.';
  static override flags = { config: configFlag, 'auto-approve': autoApproveFlag };

  async run(): Promise<void> {
    await this.parse(Destroy);
    throw notAvailableYet('destroy', 'destroy comes with the cutover work');
  }
}
