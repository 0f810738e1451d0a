import { loadConfig } from '../../config/index.js';
import { cutoverBlockers } from '../../cutover/preconditions.js';
import { withClient } from '../../db/connect.js';
import { PgshiftError } from '../../errors/index.js';
import { endpoints, sessionSettings } from '../../plan/refresh.js';
import { readState } from '../../state/snapshot.js';
import { BaseCommand } from '../base-command.js';
import { autoApproveFlag, configFlag } from '../flags.js';
import { notAvailableYet } from '../not-available.js';

export default class Cutover extends BaseCommand {
  static override description = 'Plan and apply the cutover actions of the policy (checks its preconditions first).';
  static override flags = { config: configFlag, 'auto-approve': autoApproveFlag };

  async run(): Promise<void> {
    const { flags } = await this.parse(Cutover);
    const config = loadConfig(flags.config);
    const eps = endpoints(config);
    const state = await withClient(eps.target, sessionSettings(config), (c) => readState(c));
    const blockers = cutoverBlockers(config, state);
    if (blockers.length > 0) {
      throw new PgshiftError('CUTOVER_NOT_READY', `cutover refused: ${blockers.join('; ')}`, {
        hint: 'Run `pgshift apply` to finish the copy, then `pgshift verify` until it passes, then cut over.',
      });
    }
    throw notAvailableYet('cutover', 'the preconditions hold; the write freeze, final sync and switch come with the cutover work');
  }
}
