import { directed } from '../context.js';
import { recordStep, recorded } from '../step.js';
import { snapshotXmin, syncTables } from '../sync.js';
import { totals, type CutoverStep } from './cutover-context.js';
import { largeObjectsDetail, syncCutoverLargeObjects } from '../large-objects.js';

/** Re-copies what changed on the source since the copy, while it still takes writes. */
export const catchUp: CutoverStep = {
  name: 'catch-up',
  title: () => 'catch up',
  describe: ({ set }) =>
    `re-copy what changed on the source since the copy, while it still takes writes (${set.tables.length} tables, and the large objects created, resized or unlinked)`,
  done: (r) => recorded(r, 'catch-up'),
  run: async (ctx) => {
    ctx.catchUp = await recordStep(ctx, 'catch-up', async () => {
      // what the catch-up has seen: the final sync compares only tables written since (or whose counts moved)
      ctx.sinceCatchUp = await snapshotXmin(ctx.s.source);
      const r = await syncTables(directed(ctx.set, 'to-target').tables, { from: ctx.s.source, to: ctx.s.target });
      const t = totals(r);
      // the large objects created, resized or unlinked since the copy: what is left for the freeze is the few since
      const lo = await syncCutoverLargeObjects(ctx);
      return {
        value: r,
        detail: `${t.written} rows written, ${t.deleted} deleted in ${t.tables} tables${largeObjectsDetail(lo)}`,
        counts: {
          catchUpWritten: t.written,
          catchUpDeleted: t.deleted,
          catchUpLargeObjects: (lo?.copied ?? 0) + (lo?.unlinked ?? 0),
        },
      };
    });
  },
};
