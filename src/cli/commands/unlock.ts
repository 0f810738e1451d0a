import { Args } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { notAvailableYet } from '../not-available.js';

export default class Unlock extends BaseCommand {
  static override description = 'Release a lock left by a dead run (like terraform force-unlock).';
  static override args = { lockId: Args.string({ description: 'The lock id printed by LOCK_HELD or status.', required: true }) };

  async run(): Promise<void> {
    await this.parse(Unlock);
    throw notAvailableYet('unlock', 'the state lock comes with the schema work');
  }
}
