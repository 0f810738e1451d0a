import type pg from 'pg';
import type { Config } from '../config/types.js';
import { PgshiftError } from '../errors/index.js';
import type { CutoverRow } from '../state/cutover.js';
import { readStreams } from '../state/stream.js';

export type CutoverStrategy = 'stream' | 'freeze';

/**
 * How this cutover brings the last writes across: `stream` when apply made a change stream (cutover.strategy stream,
 * or auto on a source that allows it), else `freeze` (a final sync by rescanning). A resumed cutover keeps the
 * strategy its record shows.
 */
export async function cutoverStrategy(
  config: Config,
  control: pg.ClientBase,
  resume: CutoverRow | undefined,
): Promise<CutoverStrategy> {
  if (resume?.steps.some((s) => s.step.startsWith('stream-'))) return 'stream';
  if (resume?.steps.some((s) => s.step === 'catch-up' || s.step === 'final-sync')) return 'freeze';
  if (config.cutover.strategy === 'freeze') return 'freeze';
  const streams = await readStreams(control);
  if (streams.length > 0) return 'stream';
  if (config.cutover.strategy === 'stream') {
    throw new PgshiftError('STREAM_STATE_MISSING', 'cutover.strategy is stream but this target has no change stream', {
      hint: '`pgshift apply` creates it before the copy when the source allows it: run `pgshift plan` to see why it did not, or set cutover.strategy: freeze.',
    });
  }
  return 'freeze';
}
