import { followTo } from '../stream-run.js';
import { PgshiftError } from '../../errors/index.js';
import { frozenTables } from '../freeze.js';
import { recordStep, recorded } from '../step.js';
import { totals, type CutoverContext, type CutoverStep } from './cutover-context.js';
import { directed, type SyncTable } from '../context.js';
import { withinBudget } from '../deadline.js';
import { syncTables } from '../sync.js';
import { readStreams } from '../../state/stream.js';
import { largeObjectsDetail, syncCutoverLargeObjects } from '../large-objects.js';

/**
 * The migrated tables whose every change the stream does not carry, as a sync reads them: those outside the stream's
 * main publication, i.e. published for inserts only (no key, no REPLICA IDENTITY FULL), unlogged ones (no WAL, no
 * publication can hold them) and any table the publication does not list for another reason.
 */
async function notFullyStreamed(ctx: CutoverContext): Promise<SyncTable[]> {
  const pubs = (await readStreams(ctx.s.control)).map((r) => r.publication);
  const q = await ctx.s.source.query<{ s: string; n: string }>(
    // a partitioned table is published through its root (publish_via_partition_root): its partitions stream too
    `SELECT n.nspname AS s, c.relname AS n
       FROM pg_catalog.pg_publication_tables pt
       JOIN pg_catalog.pg_namespace rn ON rn.nspname = pt.schemaname
       JOIN pg_catalog.pg_class r ON r.relnamespace = rn.oid AND r.relname = pt.tablename
       -- pg_partition_tree() of a plain table is empty: the table itself, then its partitions if any
       CROSS JOIN LATERAL (SELECT r.oid AS relid UNION SELECT relid FROM pg_catalog.pg_partition_tree(r.oid)) tree
       JOIN pg_catalog.pg_class c ON c.oid = tree.relid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE pt.pubname = ANY ($1)`,
    [pubs],
  );
  const names = new Set(q.rows.map((x) => `${x.s}\0${x.n}`));
  return directed(ctx.set, 'to-target').tables.filter((t) => !names.has(`${t.from.schema}\0${t.from.name}`));
}

/**
 * strategy stream, inside the freeze: a fence message goes into the source's WAL after the last write the freeze
 * let through; once the stream has committed past it on the target, the target holds every write of the source.
 * No table is scanned: the freeze lasts as long as the replication lag.
 */
export const streamFence: CutoverStep = {
  name: 'stream-fence',
  title: () => 'stream to the fence',
  describe: () =>
    'a fence message (pg_logical_emit_message) marks the end of the source writes; the stream applies up to it; large objects by OID',
  // like the final sync: what it proves holds within one freeze, so a resume runs it again until verified
  done: (r) => recorded(r, 'verify'),
  run: async (ctx) => {
    const deadline = ctx.deadline();
    deadline.check('the stream to the fence');
    if ((await frozenTables(ctx.s.source)).length < ctx.set.relations.length) {
      throw new PgshiftError(
        'CUTOVER_ABORTED',
        'the source is not (fully) frozen any more: the freeze ended or its triggers were removed while the cutover was stopped',
        { hint: 'Run `pgshift cutover` again.' },
      );
    }
    await recordStep(ctx, 'stream-fence', async () => {
      const fence = await ctx.s.source.query<{ lsn: string }>(
        `SELECT pg_catalog.pg_logical_emit_message(true, 'pgshift', $1)::text AS lsn`,
        [`cutover ${ctx.id}`],
      );
      const lsn = fence.rows[0]?.lsn ?? '0/0';
      // the freeze's budget bounds the wait: past it the stream stops and the cutover aborts (the freeze is lifted)
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), Math.max(1, deadline.remaining()));
      const outer = (): void => stop.abort();
      ctx.o.signal?.addEventListener('abort', outer, { once: true });
      try {
        const r = await followTo(ctx.config, ctx.s, lsn, { signal: stop.signal });
        if (r.stoppedBy !== 'until') deadline.check('the stream to the fence');
        if (r.stoppedBy !== 'until') {
          throw new PgshiftError('CUTOVER_ABORTED', `the change stream stopped before the fence at ${lsn}`, {
            hint: 'Run `pgshift cutover` again.',
          });
        }
        // tables whose updates and deletes (or, unlogged, every change) did not stream: they alone are synced by
        // rescanning, inside the freeze (the plan warned about each)
        const partial = await notFullyStreamed(ctx);
        const synced = partial.length
          ? await withinBudget(deadline, [ctx.s.source, ctx.s.target], 'the final sync', () =>
              syncTables(
                partial,
                { from: ctx.s.source, to: ctx.s.target },
                { checkDeadline: () => deadline.check('the final sync') },
              ),
            )
          : [];
        ctx.finalRan = true;
        ctx.final = synced;
        const t = totals(synced);
        const lo = await withinBudget(deadline, [ctx.s.source, ctx.s.target], 'the final sync', () =>
          syncCutoverLargeObjects(ctx, () => deadline.check('the final sync')),
        );
        return {
          value: r,
          detail: `${r.changes} changes applied up to the fence at ${lsn}${partial.length ? `; ${partial.length} table(s) the stream does not fully carry rescanned (${partial.map((x) => `${x.from.schema}.${x.from.name}`).join(', ')}: ${t.written} rows written, ${t.deleted} deleted)` : ''}${largeObjectsDetail(lo)}`,
          counts: {
            streamFenceChanges: r.changes,
            finalWritten: t.written,
            finalDeleted: t.deleted,
            finalLargeObjects: (lo?.copied ?? 0) + (lo?.unlinked ?? 0),
          },
        };
      } finally {
        clearTimeout(timer);
        ctx.o.signal?.removeEventListener('abort', outer);
      }
    });
  },
};
