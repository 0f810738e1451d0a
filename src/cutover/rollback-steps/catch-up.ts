import { directed } from '../context.js';
import { recordStep, recorded } from '../step.js';
import { snapshotXmin, syncTables } from '../sync.js';
import { totals } from '../steps/cutover-context.js';
import type { RollbackStep } from './rollback-context.js';
import { carryBackCutoverLargeObjects, largeObjectsDetail } from '../large-objects.js';

/** Carries what the application wrote on the target back to the source while it still writes there. */
export const catchUpBack: RollbackStep = {
  name: 'catch-up',
  title: () => 'catch up',
  describe: () => 'carry what the application wrote on the target back to the source while it still writes there',
  done: (r) => recorded(r, 'catch-up'),
  run: async (ctx) => {
    await recordStep(ctx, 'catch-up', async () => {
      // what the catch-up has seen: the carry-back inside the freeze compares only tables written since
      ctx.sinceCatchUp = await snapshotXmin(ctx.s.target);
      const r = await syncTables(
        directed(ctx.set, 'to-source').tables,
        { from: ctx.s.target, to: ctx.s.source },
        { bypassFreeze: ctx.cutover.id },
      );
      const t = totals(r);
      ctx.caughtUp = t;
      // the large objects written on the target since the cutover, by OID (no stream or rescan sees them)
      const lo = await carryBackCutoverLargeObjects(ctx);
      return {
        value: undefined,
        detail: `${t.written} rows written, ${t.deleted} deleted on the source in ${t.tables} tables${largeObjectsDetail(lo)}`,
        counts: {
          caughtUpTables: t.tables,
          caughtUpWritten: t.written,
          caughtUpDeleted: t.deleted,
          caughtUpLargeObjects: (lo?.copied ?? 0) + (lo?.unlinked ?? 0),
        },
      };
    });
  },
};
