import { scrub } from '../log/redact.js';
import { isPgshiftError, PgshiftError } from './pgshift-error.js';

/** Turns anything thrown into a PgshiftError (unknown errors become INTERNAL). */
export function asPgshiftError(err: unknown): PgshiftError {
  if (isPgshiftError(err)) return err;
  const e = err as { message?: string; oclif?: { exit?: number } } | undefined;
  const message = scrub(String(e?.message ?? err));
  // oclif's own parse errors: unknown flag, missing argument, bad option value
  if (e && typeof e === 'object' && 'oclif' in e) {
    return new PgshiftError('USAGE', message.split('\n')[0] ?? message, {
      hint: 'Run `pgshift COMMAND --help` for the flags it takes.',
    });
  }
  return new PgshiftError('INTERNAL', message, {
    hint: 'This is a bug in pgshift. Run again with --log-level debug for the stack trace and report it.',
    cause: err,
  });
}
