import { PgshiftError } from '../../errors/index.js';
import { directed } from '../context.js';
import { frozenTables } from '../freeze.js';
import { recordStep, recorded } from '../step.js';
import { syncTables } from '../sync.js';
import type { RollbackStep } from './rollback-context.js';
import { carryBackCutoverLargeObjects, largeObjectsDetail } from '../large-objects.js';

/**
 * Inside the target's freeze: the final sync, reversed. Like the sequences and the verification after it, it runs
 * again on a resume until the verification is recorded.
 */
export const carryBack: RollbackStep = {
  name: 'carry-back',
  title: () => 'carry back',
  describe: () =>
    'range checksums find what the application wrote on the target since the cutover; exactly those rows go back to the source, deletes included; large objects by OID',
  done: (r) => recorded(r, 'verify'),
  run: async (ctx) => {
    const deadline = ctx.deadline();
    deadline.check('the carry-back');
    if ((await frozenTables(ctx.s.target)).length < ctx.set.relations.length) {
      throw new PgshiftError(
        'CUTOVER_ABORTED',
        'the target is not (fully) frozen any more: the freeze ended or was removed while the rollback was stopped',
        { hint: 'Run `pgshift rollback` again.' },
      );
    }
    const since = ctx.sinceCatchUp;
    ctx.carried = await recordStep(ctx, 'carry-back', async () => {
      // the source is frozen by the cutover (its id is the bypass of pgshift's own writes)
      const r = await syncTables(
        directed(ctx.set, 'to-source').tables,
        { from: ctx.s.target, to: ctx.s.source },
        {
          bypassFreeze: ctx.cutover.id,
          checkDeadline: () => deadline.check('the carry-back'),
          ...(since ? { unchangedSince: since } : {}),
        },
      );
      const t = {
        tables: r.length,
        written: r.reduce((n, x) => n + x.written, 0),
        deleted: r.reduce((n, x) => n + x.deleted, 0),
      };
      const lo = await carryBackCutoverLargeObjects(ctx, () => deadline.check('the carry-back'));
      return {
        value: t,
        detail: `${t.written} rows written, ${t.deleted} deleted on the source in ${t.tables} tables${largeObjectsDetail(lo)}`,
        counts: {
          carriedTables: t.tables,
          carriedWritten: t.written,
          carriedDeleted: t.deleted,
          carriedLargeObjects: (lo?.copied ?? 0) + (lo?.unlinked ?? 0),
        },
      };
    });
  },
};
