import type { ConfigProblem, PathSegment, Positions } from './problems.js';
import { dottedPath, escapeControl } from './problems.js';

/** C0 controls (NUL, tab, newline, ESC...), DEL and the C1 controls. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** A shell command may span lines and use tabs; nothing else may. */
// eslint-disable-next-line no-control-regex
const COMMAND_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** Settings that may hold multi-line text. */
const MULTILINE: readonly string[] = ['cutover.switch.command'];

function describeChar(text: string, pattern: RegExp): string {
  const c = pattern.exec(text)?.[0] ?? '';
  const code = c.charCodeAt(0);
  const named: Record<number, string> = {
    0: 'NUL',
    9: 'tab',
    10: 'newline',
    13: 'carriage return',
    27: 'ESC',
    127: 'DEL',
  };
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}${named[code] ? ` ${named[code]}` : ''}`;
}

/**
 * Refuses NUL and control characters in every key and every string of the config (after ${VAR} interpolation):
 * in names (table patterns, schemas, roles, columns, the migration's name) they would reach the catalogs and the
 * state as invisible or truncated names, in URLs and paths they break the connection or the file, and in
 * cutover.switch.value a newline would write a second line into the env file. Only cutover.switch.command may span
 * lines. The message names the setting and the character, never the value (a URL holds a password).
 */
export function checkCharacters(data: unknown, positions: Positions): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const walk = (value: unknown, path: PathSegment[]): void => {
    if (typeof value === 'string') {
      const where = dottedPath(path);
      const pattern = MULTILINE.includes(where) ? COMMAND_CONTROL : CONTROL;
      if (pattern.test(value)) {
        problems.push(
          positions.problem(
            path,
            `${escapeControl(where)} contains a control character (${describeChar(value, pattern)}); names, URLs and paths must not contain control characters`,
          ),
        );
      }
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, [...path, i]));
      return;
    }
    if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        if (CONTROL.test(key)) {
          problems.push(
            positions.problem(
              path,
              `${escapeControl(dottedPath([...path, key]))}: the key contains a control character (${describeChar(key, CONTROL)}); names must not contain control characters`,
              { key },
            ),
          );
        }
        walk(item, [...path, key]);
      }
    }
  };
  walk(data, []);
  return problems;
}
