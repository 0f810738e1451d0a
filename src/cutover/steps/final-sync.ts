import { PgshiftError } from '../../errors/index.js';
import { directed } from '../context.js';
import { withinBudget } from '../deadline.js';
import { frozenTables } from '../freeze.js';
import { recordStep, recorded } from '../step.js';
import { syncTables } from '../sync.js';
import { totals, type CutoverStep } from './cutover-context.js';
import { largeObjectsDetail, syncCutoverLargeObjects } from '../large-objects.js';

/**
 * Inside the freeze: exactly the rows that changed since the catch-up. Like the sequences and the verification after
 * it, it runs again on a resume until the verification is recorded: what they prove holds only within one freeze.
 */
export const finalSync: CutoverStep = {
  name: 'final-sync',
  title: () => 'final sync',
  describe: () =>
    'range checksums find what changed since the catch-up; exactly those rows are re-copied, deletes included; large objects by OID',
  done: (r) => recorded(r, 'verify'),
  run: async (ctx) => {
    const deadline = ctx.deadline();
    deadline.check('the final sync');
    if ((await frozenTables(ctx.s.source)).length < ctx.set.relations.length) {
      throw new PgshiftError(
        'CUTOVER_ABORTED',
        'the source is not (fully) frozen any more: the freeze ended or its triggers were removed while the cutover was stopped',
        { hint: 'Run `pgshift cutover` again.' },
      );
    }
    ctx.finalRan = ctx.sinceCatchUp !== undefined;
    const since = ctx.sinceCatchUp;
    ctx.final = await withinBudget(deadline, [ctx.s.source, ctx.s.target], 'the final sync', () =>
      recordStep(ctx, 'final-sync', async () => {
        const r = await syncTables(
          directed(ctx.set, 'to-target').tables,
          { from: ctx.s.source, to: ctx.s.target },
          {
            checkDeadline: () => deadline.check('the final sync'),
            ...(since ? { unchangedSince: since } : {}),
          },
        );
        const t = totals(r);
        const lo = await syncCutoverLargeObjects(ctx, () => deadline.check('the final sync'));
        return {
          value: r,
          detail: `${t.written} rows written, ${t.deleted} deleted in ${t.tables} tables${largeObjectsDetail(lo)}`,
          counts: {
            finalWritten: t.written,
            finalDeleted: t.deleted,
            finalLargeObjects: (lo?.copied ?? 0) + (lo?.unlinked ?? 0),
          },
        };
      }),
    );
  },
};
