import { PgshiftError } from '../errors/index.js';

/** For commands of the contract that later work fills in. */
export function notAvailableYet(command: string, what: string): PgshiftError {
  return new PgshiftError('NOT_AVAILABLE_YET', `\`pgshift ${command}\` is not available yet in this version (${what})`, {
    hint: 'Run `pgshift validate` and `pgshift doctor` for now; see README.md for what this version does.',
  });
}
