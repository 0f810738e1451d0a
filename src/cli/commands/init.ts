import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { notAvailableYet } from '../not-available.js';

export default class Init extends BaseCommand {
  static override description = 'Introspect the source and write a commented starter migration.yaml.';
  static override flags = { source: Flags.string({ description: 'Source database URL (default: $SOURCE_DATABASE_URL).' }), out: Flags.string({ description: 'Where to write the config.', default: 'migration.yaml' }) };

  async run(): Promise<void> {
    await this.parse(Init);
    throw notAvailableYet('init', 'catalog introspection comes with the schema work');
  }
}
