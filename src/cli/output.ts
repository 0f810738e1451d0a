import type { PgshiftError } from '../errors/index.js';
import { scrub, scrubDeep } from '../log/redact.js';

export { asPgshiftError } from '../errors/index.js';

/** Everything pgshift prints goes through here, scrubbed of secrets. */
export function writeOut(text: string): void {
  process.stdout.write(scrub(text.endsWith('\n') ? text : `${text}\n`));
}

export function writeErr(text: string): void {
  process.stderr.write(scrub(text.endsWith('\n') ? text : `${text}\n`));
}

let jsonWritten = false;

/** One JSON document per command on stdout: machines parse it whole. */
export function writeJson(value: unknown): void {
  jsonWritten = true;
  process.stdout.write(`${JSON.stringify(scrubDeep(value), null, 2)}\n`);
}

/** Whether the command already printed its JSON document (an error after it goes to stderr only). */
export function wroteJson(): boolean {
  return jsonWritten;
}

/** `Error [CODE]: message`, details, and `Hint:`; the stack only when asked for. */
export function renderError(err: PgshiftError, withStack: boolean): string {
  const lines = [`Error [${err.code}]: ${err.message}`];
  for (const d of err.details) lines.push(d.location ? `  ${d.location}: ${d.message}` : `  ${d.message}`);
  if (err.hint) lines.push(`Hint: ${err.hint}`);
  // pgshift's own stack only: a cause's message may quote a row value (data errors)
  if (withStack) lines.push(err.stack ?? '');
  return lines.join('\n');
}
