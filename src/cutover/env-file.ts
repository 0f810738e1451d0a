import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PgshiftError } from '../errors/index.js';

/**
 * The application's env file (dotenv style: `KEY=value`, `export KEY=value`, quoted values, comments), rewritten
 * atomically: a temporary file in the same folder, fsync, rename over the old one, fsync of the folder. Readers
 * see the old file or the new one, never half of one.
 *
 * The previous value of the variable (a URL with a password, as a rule) is what a rollback puts back. It never
 * goes to the state (secrets stay out of the target): it is kept in a backup file next to the env file, mode 0600,
 * named in the state with its SHA-256.
 */

const LINE = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)(.*)$/;

function unquote(raw: string): string {
  const v = raw.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(["\\$`])/g, '$1').replace(/\\n/g, '\n');
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  const hash = v.search(/\s#/);
  return hash >= 0 ? v.slice(0, hash).trimEnd() : v;
}

function quote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./?&\-[\]~]*$/.test(value)) return value;
  return `"${value.replace(/(["\\$`])/g, '\\$1').replace(/\n/g, '\\n')}"`;
}

/** The variable's value in the file's text (the last assignment wins, as in dotenv), or undefined. */
export function readEnvValue(text: string, variable: string): string | undefined {
  let found: string | undefined;
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m && m[2] === variable) found = unquote(m[4] ?? '');
  }
  return found;
}

/** The text with the variable set to `value` (every assignment of it rewritten; appended when absent), or removed. */
export function setEnvValue(text: string, variable: string, value: string | undefined): string {
  const lines = text.length > 0 ? text.split('\n') : [];
  let seen = false;
  const out: string[] = [];
  for (const line of lines) {
    const m = LINE.exec(line);
    if (m && m[2] === variable) {
      seen = true;
      if (value !== undefined) out.push(`${m[1]}${variable}${m[3]}${quote(value)}`);
      continue;
    }
    out.push(line);
  }
  if (!seen && value !== undefined) {
    if (out.length > 0 && out[out.length - 1] === '') out.splice(out.length - 1, 0, `${variable}=${quote(value)}`);
    else out.push(`${variable}=${quote(value)}`);
  }
  return out.join('\n');
}

export function sha256(value: string | undefined): string {
  return createHash('sha256').update(value === undefined ? '\u0000absent' : `=${value}`).digest('hex');
}

/** Writes the file atomically, keeping the old file's mode (0600 for a new file). */
export function writeFileAtomic(file: string, text: string, mode?: number): void {
  const dir = path.dirname(file);
  let keep = mode;
  if (keep === undefined) {
    try {
      keep = fs.statSync(file).mode & 0o777;
    } catch {
      keep = 0o600;
    }
  }
  const tmp = path.join(dir, `.${path.basename(file)}.pgshift-${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', keep);
  try {
    fs.writeFileSync(fd, text);
    fs.fchmodSync(fd, keep);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const d = fs.openSync(dir, 'r');
    fs.fsyncSync(d);
    fs.closeSync(d);
  } catch {
    // some filesystems cannot fsync a folder; the rename is still atomic
  }
}

export function readEnvFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return '';
    throw new PgshiftError('ENV_FILE_INVALID', `cannot read the env file ${file}: ${(err as Error).message}`, {
      hint: 'cutover.switch.env_file must be a file pgshift can read and replace (and its folder writable).',
    });
  }
}

/** The backup of the previous value for a cutover: `<env file>.pgshift-<id>.bak`, 0600. */
export function backupPath(envFile: string, id: string): string {
  return `${envFile}.pgshift-${id.slice(0, 8)}.bak`;
}

interface Backup {
  readonly variable: string;
  readonly value: string | undefined;
}

/** Writes the backup once (a resumed cutover must never overwrite it with the new value). */
export function writeBackup(file: string, variable: string, value: string | undefined): void {
  if (fs.existsSync(file)) return;
  writeFileAtomic(file, JSON.stringify({ variable, value: value ?? null }) + '\n', 0o600);
}

export function readBackup(file: string): Backup {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new PgshiftError('ROLLBACK_REFUSED', `the backup of the previous value (${file}) is missing`, {
      hint: 'Restore the variable in the env file by hand, then run `pgshift rollback --force` to move the data back.',
    });
  }
  const j = JSON.parse(text) as { variable: string; value: string | null };
  return { variable: j.variable, value: j.value ?? undefined };
}
