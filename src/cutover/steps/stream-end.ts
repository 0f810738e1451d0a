import { recordStep, recorded } from '../step.js';
import { forgetStream, readStreams } from '../../state/stream.js';
import { dropStream } from '../../stream/slot.js';
import type { CutoverStep } from './cutover-context.js';

/**
 * strategy stream, after the switch: the slot is dropped (a slot nobody reads holds the source's WAL and fills its
 * disk) with its publications, and forgotten. A rollback carries the target's writes back without it.
 */
export const streamEnd: CutoverStep = {
  name: 'stream-end',
  title: () => 'drop the change stream',
  describe: () => "the replication slot and pgshift's publications are dropped on the source",
  done: (r) => recorded(r, 'stream-end'),
  run: async (ctx) => {
    await recordStep(ctx, 'stream-end', async () => {
      const dropped: string[] = [];
      for (const row of await readStreams(ctx.s.control)) {
        const r = await dropStream(ctx.s.source, {
          slot: row.slot,
          publication: row.publication,
          insertsPublication: row.insertsPublication ?? `${row.publication}_inserts`,
        });
        await forgetStream(ctx.s.control, row.slot);
        if (r.slot) dropped.push(`slot ${row.slot}`);
        dropped.push(...r.publications.map((p) => `publication ${p}`));
      }
      return { value: dropped, detail: dropped.length > 0 ? `dropped ${dropped.join(', ')}` : 'nothing to drop' };
    });
  },
};
