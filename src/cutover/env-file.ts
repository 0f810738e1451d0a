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
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"'))
    return v
      .slice(1, -1)
      .replace(/\\(["\\$`])/g, '$1')
      .replace(/\\n/g, '\n');
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  const hash = v.search(/\s#/);
  return hash >= 0 ? v.slice(0, hash).trimEnd() : v;
}

/**
 * A value as dotenv, docker --env-file and a shell all read it back: bare when it has no special character,
 * single-quoted (taken literally by all three: `$` is not expanded) when it has no single quote, else double-quoted.
 */
function quote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./?&\-[\]~]*$/.test(value)) return value;
  if (!value.includes("'") && !value.includes('\n')) return `'${value}'`;
  return `"${value.replace(/(["\\$`])/g, '\\$1').replace(/\n/g, '\\n')}"`;
}

/** The variable's value in the file's text (the last assignment wins, as in dotenv), or undefined. */
export function readEnvValue(text: string, variable: string): string | undefined {
  let found: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const m = LINE.exec(line);
    if (m && m[2] === variable) found = unquote(m[4] ?? '');
  }
  return found;
}

/** The text with the variable set to `value` (every assignment of it rewritten; appended when absent), or removed. */
export function setEnvValue(text: string, variable: string, value: string | undefined): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.length > 0 ? text.split(/\r?\n/) : [];
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
  return out.join(eol);
}

export function sha256(value: string | undefined): string {
  return createHash('sha256')
    .update(value === undefined ? '\u0000absent' : `=${value}`)
    .digest('hex');
}

/** Writes the file atomically, keeping the old file's mode (0600 for a new file). */
export function writeFileAtomic(target: string, text: string, mode?: number): void {
  // a symlinked env file (e.g. shared/.env of a release layout) is replaced where it points, the link kept
  let file = target;
  try {
    file = fs.realpathSync(target);
  } catch {
    // a new file
  }
  const dir = path.dirname(file);
  let keep = mode;
  let owner: { uid: number; gid: number } | undefined;
  try {
    const st = fs.statSync(file);
    keep ??= st.mode & 0o777;
    owner = { uid: st.uid, gid: st.gid };
  } catch {
    keep ??= 0o600;
  }
  const tmp = path.join(dir, `.${path.basename(file)}.pgshift-${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', keep);
  try {
    fs.writeFileSync(fd, text);
    fs.fchmodSync(fd, keep);
    // the application must still be able to read it (pgshift may run as another user, root included)
    if (owner && (owner.uid !== process.getuid?.() || owner.gid !== process.getgid?.())) {
      try {
        fs.fchownSync(fd, owner.uid, owner.gid);
      } catch {
        // not allowed: the file keeps pgshift's user; its mode is kept
      }
    }
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
      hint: 'Set the variable in the env file by hand; `pgshift rollback --force` moves the data back without touching the file.',
    });
  }
  const j = JSON.parse(text) as { variable: string; value: string | null };
  return { variable: j.variable, value: j.value ?? undefined };
}

/** Before a cutover changes anything: the env file must exist, be replaceable, and assign the variable. */
export function checkEnvFile(
  sw: { envFile: string; variable: string; value: string },
  backupFile: string | null,
): void {
  let text: string;
  try {
    text = fs.readFileSync(sw.envFile, 'utf8');
  } catch (err) {
    throw new PgshiftError(
      'ENV_FILE_INVALID',
      `cannot read cutover.switch.env_file ${sw.envFile} (${(err as { code?: string }).code ?? 'error'})`,
      {
        hint: 'Point env_file at the file the application reads its settings from; pgshift only replaces an existing file.',
      },
    );
  }
  try {
    fs.accessSync(path.dirname(fs.realpathSync(sw.envFile)), fs.constants.W_OK);
  } catch {
    throw new PgshiftError(
      'ENV_FILE_INVALID',
      `the folder of ${sw.envFile} is not writable: the env file cannot be replaced atomically`,
      { hint: 'Run pgshift as a user who may write there.' },
    );
  }
  const current = readEnvValue(text, sw.variable);
  if (current === undefined) {
    throw new PgshiftError('ENV_FILE_INVALID', `${sw.envFile} does not assign ${sw.variable}`, {
      hint: `Check cutover.switch.variable, or add ${sw.variable}=<the current URL> to the file first.`,
    });
  }
  if (current === sw.value && !backupFile) {
    throw new PgshiftError(
      'ENV_FILE_INVALID',
      `${sw.variable} in ${sw.envFile} already holds the value the cutover would write`,
      {
        hint: 'The application already points at the target, or the file was edited by hand: put its current value back, or cut over by hand.',
      },
    );
  }
}

/** Puts the previous value back when the env file holds the cutover's value (a cutover stopped before it recorded its switch). */
export function restoreIfSwitched(
  config: { cutover: { switch: { envFile: string; variable: string; value: string } | undefined } },
  backupFile: string | null,
): boolean {
  const sw = config.cutover.switch;
  if (!sw || !backupFile || !fs.existsSync(backupFile)) return false;
  const text = readEnvFile(sw.envFile);
  if (readEnvValue(text, sw.variable) !== sw.value) return false;
  const b = readBackup(backupFile);
  writeFileAtomic(sw.envFile, setEnvValue(text, b.variable, b.value));
  return true;
}
