import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type pg from 'pg';
import { PgshiftError } from '../errors/index.js';
import { stateDb } from './db.js';

/** The advisory lock key of pgshift on a target database ('pgsh', 1). */
const LOCK_CLASS = 0x70677368;
const LOCK_OBJ = 1;

export interface LockInfo {
  readonly runId: string;
  readonly command: string;
  readonly operator: string;
  readonly host: string;
}

export interface LockHandle {
  readonly lockId: string;
  release(): Promise<void>;
}

export interface LockHolder {
  readonly lockId: string;
  readonly runId: string;
  readonly command: string;
  readonly operator: string;
  readonly host: string;
  readonly osPid: number;
  readonly backendPid: number;
  readonly acquiredAt: Date;
  /** Whether the holder's session still holds the advisory lock. */
  readonly alive: boolean;
}

export async function readLockHolder(client: pg.ClientBase): Promise<LockHolder | undefined> {
  const r = await client.query<{
    lock_id: string;
    run_id: string;
    command: string;
    operator: string;
    host: string;
    os_pid: number;
    backend_pid: number;
    acquired_at: Date;
    alive: boolean;
  }>(
    `SELECT l.lock_id, l.run_id, l.command, l.operator, l.host, l.os_pid, l.backend_pid, l.acquired_at,
            EXISTS (SELECT 1 FROM pg_catalog.pg_locks k
                     WHERE k.locktype = 'advisory' AND k.classid = $1::bigint::oid AND k.objid = $2::bigint::oid
                       AND k.pid = l.backend_pid AND k.granted AND k.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) AS alive
       FROM pgshift.lock l`,
    [LOCK_CLASS, LOCK_OBJ],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    lockId: row.lock_id,
    runId: row.run_id,
    command: row.command,
    operator: row.operator,
    host: row.host,
    osPid: row.os_pid,
    backendPid: row.backend_pid,
    acquiredAt: row.acquired_at,
    alive: row.alive,
  };
}

function describeHolder(h: LockHolder | undefined): string {
  if (!h) return 'another pgshift session (no holder row yet)';
  return `${h.command} run ${h.runId} by ${h.operator} on ${h.host} (pid ${h.osPid}) since ${h.acquiredAt.toISOString()}`;
}

/**
 * Takes the one lock of the target for the life of `client`'s session (a session advisory lock) and writes the
 * holder row. A second apply fails fast with LOCK_HELD naming the holder. A dead holder's advisory lock vanished
 * with its session, so its stale row is simply taken over.
 */
export async function acquireLock(client: pg.ClientBase, info: LockInfo): Promise<LockHandle> {
  const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_CLASS, LOCK_OBJ]);
  if (got.rows[0]?.ok !== true) {
    // the winner writes its holder row right after taking the lock: give it a moment, so the error names it
    let holder = await readLockHolder(client);
    for (let i = 0; !holder && i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      holder = await readLockHolder(client);
    }
    throw new PgshiftError('LOCK_HELD', `the target is locked by ${describeHolder(holder)}`, {
      hint: holder
        ? `Wait for that run to finish. If it is dead, release its lock with \`pgshift unlock ${holder.lockId}\`.`
        : 'Wait for the other run to finish, then try again.',
    });
  }
  const lockId = randomBytes(8).toString('hex');
  const db = stateDb(client);
  await sql`INSERT INTO pgshift.lock (id, lock_id, run_id, command, operator, host, os_pid, backend_pid)
            VALUES (1, ${lockId}, ${info.runId}, ${info.command}, ${info.operator}, ${info.host}, ${process.pid}, pg_backend_pid())
            ON CONFLICT (id) DO UPDATE SET lock_id = EXCLUDED.lock_id, run_id = EXCLUDED.run_id, command = EXCLUDED.command,
              operator = EXCLUDED.operator, host = EXCLUDED.host, os_pid = EXCLUDED.os_pid,
              backend_pid = EXCLUDED.backend_pid, acquired_at = clock_timestamp()`.execute(db);
  return {
    lockId,
    async release(): Promise<void> {
      await client.query('DELETE FROM pgshift.lock WHERE lock_id = $1', [lockId]);
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, LOCK_OBJ]);
    },
  };
}

/**
 * The lock fence, run by every apply action before its effect and, where the effect is one transaction, inside it:
 * the holder row still carries this run's lock id. An `unlock`, or a dead holder's lock taken over by another run,
 * changes the row, and the action stops with LOCK_HELD before it changes anything. FOR SHARE keeps the row as it is
 * until the caller's transaction ends: a run taking the lock over (its upsert of the row) waits for that, so an effect
 * committed under the fence never interleaves with the next holder's work.
 */
export async function assertLockHeld(client: pg.ClientBase, lockId: string, what: string): Promise<void> {
  const held = await client.query('SELECT 1 FROM pgshift.lock WHERE lock_id = $1 FOR SHARE', [lockId]);
  if (held.rowCount !== 1) {
    throw new PgshiftError(
      'LOCK_HELD',
      `${what}: this run no longer holds the target's lock (released by \`pgshift unlock\`, or taken over by another run); stopped before changing anything`,
      {
        hint: 'Run `pgshift status` to see who holds the lock. When that run has finished, run `pgshift apply` again: finished work is kept.',
      },
    );
  }
}

export interface UnlockResult {
  readonly holder: LockHolder;
  readonly terminated: boolean;
}

/** `pgshift unlock LOCK_ID`: ends the holder's session if it still lives and removes the holder row. */
export async function forceUnlock(client: pg.ClientBase, lockId: string): Promise<UnlockResult> {
  const holder = await readLockHolder(client);
  if (!holder || holder.lockId !== lockId) {
    throw new PgshiftError(
      'LOCK_NOT_FOUND',
      `no lock with id ${lockId} on the target${holder ? ` (the current lock is ${holder.lockId})` : ' (the target is not locked)'}`,
      {
        hint: 'Run `pgshift status` to see the current lock holder.',
      },
    );
  }
  let terminated = false;
  if (holder.alive) {
    const r = await client.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [holder.backendPid]);
    terminated = r.rows[0]?.ok === true;
  }
  await client.query('DELETE FROM pgshift.lock WHERE lock_id = $1', [lockId]);
  return { holder, terminated };
}
