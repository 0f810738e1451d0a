import { BaseCommand } from '../base-command.js';
import { autoApproveFlag, configFlag } from '../flags.js';
import { notAvailableYet } from '../not-available.js';

export default class Cutover extends BaseCommand {
  static override description = 'Plan and apply the cutover actions of the policy.';
  static override flags = { config: configFlag, 'auto-approve': autoApproveFlag };

  async run(): Promise<void> {
    await this.parse(Cutover);
    throw notAvailableYet('cutover', 'cutover comes with the cutover work');
  }
}
