import { isPgshiftError, PgshiftError } from '../errors/index.js';
import { scrub, scrubDeep } from '../log/redact.js';

/** Everything pgshift prints goes through here, scrubbed of secrets. */
export function writeOut(text: string): void {
  process.stdout.write(scrub(text.endsWith('\n') ? text : `${text}\n`));
}

export function writeErr(text: string): void {
  process.stderr.write(scrub(text.endsWith('\n') ? text : `${text}\n`));
}

export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(scrubDeep(value), null, 2)}\n`);
}

/** Turns anything thrown into a PgshiftError (unknown errors become INTERNAL). */
export function asPgshiftError(err: unknown): PgshiftError {
  if (isPgshiftError(err)) return err;
  const e = err as { message?: string; oclif?: { exit?: number } } | undefined;
  const message = scrub(String(e?.message ?? err));
  // oclif's own parse errors: unknown flag, missing argument, bad option value
  if (e && typeof e === 'object' && 'oclif' in e) {
    return new PgshiftError('USAGE', message.split('\n')[0] ?? message, { hint: 'Run `pgshift COMMAND --help` for the flags it takes.' });
  }
  return new PgshiftError('INTERNAL', message, {
    hint: 'This is a bug in pgshift. Run again with --log-level debug for the stack trace and report it.',
    cause: err,
  });
}

/** `Error [CODE]: message`, details, and `Hint:`; the stack only when asked for. */
export function renderError(err: PgshiftError, withStack: boolean): string {
  const lines = [`Error [${err.code}]: ${err.message}`];
  for (const d of err.details) lines.push(d.location ? `  ${d.location}: ${d.message}` : `  ${d.message}`);
  if (err.hint) lines.push(`Hint: ${err.hint}`);
  if (withStack) {
    const cause = err.cause as Error | undefined;
    lines.push(cause?.stack ?? err.stack ?? '');
  }
  return lines.join('\n');
}
