import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PgshiftError } from '../errors/index.js';
import { logger } from '../log/logger.js';
import { registerSecret } from '../log/redact.js';

/** The environment variable that holds the key-hash secret (a CI secret, the same for every run of a pipeline). */
export const KEY_SECRET_ENV = 'PGSHIFT_KEY_SECRET';
/** Where the secret is kept otherwise: next to the config file (created 0600, ignored by git). */
export const KEY_SECRET_FILE = join('.pgshift', 'key-secret');
const MIN_LENGTH = 16;

/** Where the secret of a migration comes from: the environment, a file, or this process only. */
export type KeySecretSource =
  { readonly kind: 'env' } | { readonly kind: 'file'; readonly path: string } | { readonly kind: 'process' };

interface Migration {
  readonly name: string;
  /** The config file, or undefined for a config built in code. */
  readonly file: string | undefined;
}

let migration: Migration = { name: '', file: undefined };
/** The derived key, for the inputs it was derived from (the migration and the environment's secret). */
let derived: { readonly for: string; readonly key: Buffer; readonly source: KeySecretSource } | undefined;
const processSecret = randomBytes(32);

/**
 * The migration whose reports this process writes: key hashes are keyed by its secret from now on. The secret is
 * read (or created) at the first hash, not here, so a verification that hashes nothing touches no file.
 */
export function useKeySecret(config: Migration): void {
  migration = { name: config.name, file: config.file };
}

function tooShort(where: string): PgshiftError {
  return new PgshiftError(
    'CONFIG_INVALID',
    `the key-hash secret in ${where} is shorter than ${MIN_LENGTH} characters`,
    {
      hint: `Use a long random value, e.g. \`openssl rand -hex 32\` (hashes in earlier reports will no longer match).`,
    },
  );
}

/** Reads the secret file, or creates it (0600, in a 0700 folder that ignores itself in git). Undefined: cannot persist. */
function secretFile(configFile: string): { secret: string; path: string } | undefined {
  const path = join(dirname(configFile), KEY_SECRET_FILE);
  const read = (): string => {
    const st = lstatSync(path);
    if (!st.isFile())
      throw new PgshiftError('CONFIG_INVALID', `${path} is not a regular file`, {
        hint: 'Remove it; pgshift creates a new secret there.',
      });
    if ((st.mode & 0o077) !== 0) {
      logger().warn({ file: path }, 'the key-hash secret file is readable by other users: chmod 600 it');
    }
    const s = readFileSync(path, 'utf8').trim();
    if (s.length < MIN_LENGTH) throw tooShort(path);
    return s;
  };
  try {
    return { secret: read(), path };
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(
        join(dirname(path), '.gitignore'),
        '# pgshift: local files, never committed (the key-hash secret)\n*\n',
        { flag: 'wx', mode: 0o600 },
      );
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
    }
    const secret = randomBytes(32).toString('hex');
    try {
      writeFileSync(path, `${secret}\n`, { flag: 'wx', mode: 0o600 });
      chmodSync(path, 0o600); // whatever the umask
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err; // another process created it first: use theirs
    }
    return { secret: read(), path };
  } catch (err) {
    if (err instanceof PgshiftError) throw err;
    logger().warn(
      { file: path, reason: (err as Error).message },
      'cannot keep the key-hash secret: key hashes of this run match no other run',
    );
    return undefined;
  }
}

/** The secret of the current migration, and where it came from: never stored, never printed. */
function keyFor(env: NodeJS.ProcessEnv = process.env): { key: Buffer; source: KeySecretSource } {
  const fromEnv = env[KEY_SECRET_ENV];
  const inputs = JSON.stringify([migration.name, migration.file ?? null, fromEnv ?? null]);
  if (derived?.for === inputs) return derived;
  let base: Buffer;
  let source: KeySecretSource;
  if (fromEnv) {
    if (fromEnv.trim().length < MIN_LENGTH) throw tooShort(`$${KEY_SECRET_ENV}`);
    registerSecret(fromEnv);
    base = Buffer.from(fromEnv.trim(), 'utf8');
    source = { kind: 'env' };
  } else {
    const f = migration.file ? secretFile(migration.file) : undefined;
    if (f) registerSecret(f.secret);
    base = f ? Buffer.from(f.secret, 'utf8') : processSecret;
    source = f ? { kind: 'file', path: f.path } : { kind: 'process' };
  }
  // one key per migration, even when several share a secret: their hashes of one key differ
  derived = {
    for: inputs,
    key: createHmac('sha256', base).update(`pgshift key hash v1\u0000${migration.name}`).digest(),
    source,
  };
  return derived;
}

/** Where the key-hash secret of the current migration comes from (for doctor, logs and tests). */
export function keySecretSource(env: NodeJS.ProcessEnv = process.env): KeySecretSource {
  return keyFor(env).source;
}

/** HMAC-SHA256 of a key's text with the migration's secret, as 16 hex digits. */
export function hmacKey(keyText: string, env: NodeJS.ProcessEnv = process.env): string {
  return createHmac('sha256', keyFor(env).key).update(keyText).digest('hex').slice(0, 16);
}
