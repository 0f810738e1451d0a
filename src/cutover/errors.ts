import { describeServerError } from '../db/server-error.js';
import { PgshiftError } from '../errors/index.js';

/**
 * What a cutover or rollback reports when it stops: a server error is described without the values it may quote
 * (a data error names the offending value; patient data must not reach stderr or pgshift.cutover.error).
 */
export function withoutValues(err: unknown, direction: 'cutover' | 'rollback'): Error {
  if (err instanceof PgshiftError) return err;
  const code = (err as { code?: string }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return new PgshiftError('CUTOVER_ABORTED', `the ${direction} stopped: ${describeServerError(err)}`, {
      hint: `\`pgshift status\` says where it stopped; \`pgshift ${direction}\` resumes it${direction === 'cutover' ? ', `pgshift rollback` reverts it' : ''}.`,
      cause: err,
    });
  }
  return err instanceof Error ? err : new Error(String(err));
}
