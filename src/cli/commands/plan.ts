import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { configFlag, jsonFlag } from '../flags.js';
import { notAvailableYet } from '../not-available.js';

export default class Plan extends BaseCommand {
  static override description = 'Show what apply would do: a pure diff of migration.yaml against the target and its recorded state.';
  static override flags = { config: configFlag, out: Flags.string({ description: 'Save the plan (plans/NAME.plan.json) for a later apply.' }), format: Flags.option({ options: ['text', 'markdown', 'json'] as const, default: 'text', description: 'How to print the plan.' })(), json: jsonFlag, 'detailed-exitcode': Flags.boolean({ description: 'Exit 0 when there are no changes, 2 when there are.', default: false }) };

  async run(): Promise<void> {
    await this.parse(Plan);
    throw notAvailableYet('plan', 'planning comes with the schema work');
  }
}
