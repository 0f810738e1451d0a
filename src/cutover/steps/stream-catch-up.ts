import { currentLsn, followTo } from '../stream-run.js';
import { recordStep, recorded } from '../step.js';
import type { CutoverStep } from './cutover-context.js';
import { largeObjectsDetail, syncCutoverLargeObjects } from '../large-objects.js';

/** At most this many catch-up passes; a pass shorter than SHORT_PASS_MS ends them. */
const MAX_PASSES = 5;
const SHORT_PASS_MS = 300;

/**
 * strategy stream, before the freeze: the change stream applies everything the source had written when the
 * cutover began, while the source still takes writes (what is left for inside the freeze is the replication lag).
 */
export const streamCatchUp: CutoverStep = {
  name: 'stream-catch-up',
  title: () => 'catch up (stream)',
  describe: () =>
    'the change stream applies what the source wrote until now, while it still takes writes; large objects by OID',
  done: (r) => recorded(r, 'stream-catch-up'),
  run: async (ctx) => {
    await recordStep(ctx, 'stream-catch-up', async () => {
      // what the source writes during a pass is left for the next one: passes go on until one is short, so that
      // what is left for inside the freeze is about one short pass of writes (measured by bench/cutover.ts: one
      // pass left the writes of the whole catch-up, up to 1.5 s of applying, for the freeze)
      let changes = 0;
      let transactions = 0;
      let until = '';
      let last: Awaited<ReturnType<typeof followTo>> | undefined;
      for (let pass = 1; pass <= MAX_PASSES; pass++) {
        const started = Date.now();
        until = await currentLsn(ctx.s.source);
        last = await followTo(ctx.config, ctx.s, until, ctx.o.signal ? { signal: ctx.o.signal } : {});
        changes += last.changes;
        transactions += last.transactions;
        if (last.stoppedBy !== 'until' || Date.now() - started < SHORT_PASS_MS) break;
      }
      // the stream carries no large object: those created, resized or unlinked since the copy, by OID
      const lo = await syncCutoverLargeObjects(ctx);
      return {
        value: last,
        detail: `${changes} changes in ${transactions} transactions applied up to ${last?.appliedLsn ?? until}${largeObjectsDetail(lo)}`,
        counts: { streamCatchUpChanges: changes, catchUpLargeObjects: (lo?.copied ?? 0) + (lo?.unlinked ?? 0) },
      };
    });
  },
};
