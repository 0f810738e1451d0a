import type { Config } from '../config/types.js';
import { FOLLOW_COMMAND } from '../state/handover.js';
import type { StateSnapshot } from '../state/snapshot.js';

/** Why a cutover may not start now (empty: it may). Pure: reads the state snapshot and the policy. */
export function cutoverBlockers(config: Config, state: StateSnapshot): string[] {
  const out: string[] = [];
  if (!state.exists) return ['nothing has been applied to the target yet (run `pgshift apply`)'];
  const unfinished = state.checkpoints.filter((c) => c.status !== 'done');
  if (unfinished.length > 0)
    out.push(
      `the copy is not complete: ${unfinished.length} unit(s) not done (${unfinished
        .slice(0, 3)
        .map((c) => `${c.tableSchema}.${c.tableName}`)
        .join(', ')})`,
    );
  if (config.cutover.requireVerified) {
    const v = state.lastVerification;
    if (!v) out.push('the target has never been verified (cutover.require_verified is set)');
    else if (v.result !== 'passed')
      out.push(
        `the last verification (${v.startedAt}) ${v.result === 'failed' ? 'found differences' : 'did not finish'}`,
      );
    else if (!v.fresh)
      out.push(`the last verification (${v.startedAt}) is older than the last change pgshift made to the target`);
  }
  // a follower (`apply --follow`) hands the lock over to the cutover (acquireLockFromFollower): no blocker
  if (state.lock?.alive && state.lock.command !== FOLLOW_COMMAND)
    out.push(`another pgshift run holds the target's lock (${state.lock.command} run ${state.lock.runId})`);
  return out;
}
