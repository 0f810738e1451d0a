import type { Hook } from '@oclif/core';
import { suggest } from '../../config/schema.js';
import { PgshiftError } from '../../errors/index.js';
import { renderError, writeErr } from '../output.js';

/** An unknown command is an error like any other: `Error [USAGE]`, a suggestion, exit 1 (never oclif's 2). */
const hook: Hook<'command_not_found'> = async function (opts) {
  const known = opts.config.commandIDs;
  const guess = suggest(opts.id, known);
  const err = new PgshiftError('USAGE', `unknown command "${opts.id}"${guess ? `; did you mean "${guess}"?` : ''}`, {
    hint: `Commands: ${[...known].sort().join(', ')}. Run \`pgshift --help\`.`,
  });
  writeErr(renderError(err, false));
  process.exit(err.exitCode);
};

export default hook;
