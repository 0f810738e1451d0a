import { BaseCommand } from '../base-command.js';
import { autoApproveFlag, configFlag } from '../flags.js';
import { notAvailableYet } from '../not-available.js';

export default class Rollback extends BaseCommand {
  static override description = 'Revert a cutover: the source takes writes again and the app points back to it.';
  static override flags = { config: configFlag, 'auto-approve': autoApproveFlag };

  async run(): Promise<void> {
    await this.parse(Rollback);
    throw notAvailableYet('rollback', 'rollback comes with the cutover work');
  }
}
