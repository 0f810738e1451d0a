import { PgshiftError } from '../../errors/index.js';
import { differing } from '../../verify/report.js';
import { runVerification } from '../../verify/run.js';
import { recordStep, recorded } from '../step.js';
import type { CutoverStep } from './cutover-context.js';

/** Inside the freeze, before the switch: the target holds what the source holds (strict: a difference aborts). */
export const verify: CutoverStep = {
  name: 'verify',
  title: () => 'verify',
  describe: ({ config }) =>
    `row counts + ${config.cutover.verify === 'full' ? 'full checksums (cutover.verify: full)' : `${config.verify.sample.percent}% sample of the tables the final sync wrote (it proved the others unchanged), schema, sequences`}`,
  done: (r) => recorded(r, 'verify'),
  run: async (ctx) => {
    const { config } = ctx;
    ctx.deadline().check('the verification');
    ctx.verificationId = await recordStep(ctx, 'verify', async () => {
      // the tables the final sync did not touch were proven unchanged inside this freeze (xmin and counts); a
      // sync that did not run here (a resume) proves nothing: then every table is compared
      const touched = ctx.finalRan ? new Set(ctx.final.map((t) => t.table)) : undefined;
      const v = await runVerification(
        config.cutover.verify === 'full' ? config : { ...config, verify: { ...config.verify, checksums: 'sampled' } },
        {
          runId: ctx.id,
          strict: true,
          ...(touched && config.cutover.verify !== 'full' ? { onlyTables: touched } : {}),
        },
      );
      if (!v.ok) {
        throw new PgshiftError(
          'CUTOVER_ABORTED',
          `the verification inside the freeze found differences in ${differing(v.summary)}: the cutover was aborted`,
          {
            hint: `Nothing was switched and the source takes writes again. Read the report: \`pgshift verify\` (report ${v.id}).`,
          },
        );
      }
      return { value: v.id, detail: `passed (${v.summary.rowsCompared} rows compared, report ${v.id})` };
    });
    ctx.deadline().check('the switch');
  },
};
