import { Flags } from '@oclif/core';
import { loadConfig } from '../../config/index.js';
import { blockers, hasChanges } from '../../plan/model.js';
import { savePlan } from '../../plan/planfile.js';
import { makePlan } from '../../plan/refresh.js';
import { PgshiftError } from '../../errors/index.js';
import { BaseCommand } from '../base-command.js';
import { configFlag, jsonFlag } from '../flags.js';
import { writeErr, writeJson, writeOut } from '../output.js';
import { planJson, renderPlanMarkdown, renderPlanText } from '../render/plan.js';

export default class Plan extends BaseCommand {
  static override description =
    'Show what apply would do: a pure diff of migration.yaml against the target and its recorded state.';
  static override flags = {
    config: configFlag,
    out: Flags.string({ description: 'Save the plan (e.g. plans/NAME.plan.json) for `pgshift apply PLANFILE`.' }),
    format: Flags.option({
      options: ['text', 'markdown', 'json'] as const,
      default: 'text',
      description: 'How to print the plan.',
    })(),
    json: jsonFlag,
    'detailed-exitcode': Flags.boolean({
      description: 'Exit 0 when there are no changes, 2 when there are (1 on error).',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Plan);
    const config = loadConfig(flags.config);
    const plan = await makePlan(config);
    const format = flags.json ? 'json' : flags.format;
    if (flags.out) {
      const saved = savePlan(flags.out, plan);
      writeErr(
        `Saved the plan to ${flags.out} (hash ${saved.hash}). Apply exactly this plan with: pgshift apply ${flags.out}`,
      );
    }
    if (format === 'json') writeJson(planJson(plan));
    else if (format === 'markdown') writeOut(renderPlanMarkdown(plan));
    else writeOut(renderPlanText(plan));
    const blocking = blockers(plan);
    const cutOver = blocking.find((b) => b.code === 'CUTOVER_CUT_OVER');
    if (cutOver)
      throw new PgshiftError('CUTOVER_CUT_OVER', cutOver.message, { ...(cutOver.hint ? { hint: cutOver.hint } : {}) });
    if (blocking.length > 0) {
      throw new PgshiftError('PLAN_BLOCKED', `the plan has ${blocking.length} blocker(s); apply would refuse it`, {
        hint: blocking[0]?.hint ?? 'Resolve the findings marked Error above.',
      });
    }
    if (flags['detailed-exitcode'] && hasChanges(plan)) process.exitCode = 2;
  }
}
