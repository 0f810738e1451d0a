/**
 * A follower (`pgshift apply --follow`) holds the target's lock while it streams. A cutover (or destroy) that finds
 * the lock held by a follower asks it to hand over: a NOTIFY on the target, on which the follower commits what it
 * applied, releases the lock and stops. The asker then takes the lock; nothing runs twice, nothing waits for a human.
 */
import type pg from 'pg';
import { isPgshiftError } from '../errors/index.js';
import { acquireLock, readLockHolder, type LockHandle, type LockInfo } from './lock.js';

/** The channel a follower LISTENs on. */
export const HANDOVER_CHANNEL = 'pgshift_handover';
/** The lock command of a follower. */
export const FOLLOW_COMMAND = 'follow';

/**
 * Takes the lock; when a live follower holds it, asks it to hand over and waits up to `waitMs` for it. Any other
 * holder: LOCK_HELD as acquireLock says it.
 */
export async function acquireLockFromFollower(
  client: pg.ClientBase,
  info: LockInfo,
  waitMs = 30_000,
): Promise<LockHandle> {
  try {
    return await acquireLock(client, info);
  } catch (err) {
    if (!isPgshiftError(err) || err.code !== 'LOCK_HELD') throw err;
    const holder = await readLockHolder(client);
    if (!holder?.alive || holder.command !== FOLLOW_COMMAND) throw err;
    await client.query('SELECT pg_catalog.pg_notify($1, $2)', [HANDOVER_CHANNEL, `${info.command} ${info.runId}`]);
    const until = Date.now() + waitMs;
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      try {
        return await acquireLock(client, info);
      } catch (again) {
        if (!isPgshiftError(again) || again.code !== 'LOCK_HELD' || Date.now() > until) throw again;
      }
    }
  }
}

/** Calls `onRequest` when another run asks this follower (LISTEN on `client`) to hand the lock over. */
export async function listenForHandover(client: pg.Client, onRequest: (by: string) => void): Promise<() => void> {
  const handler = (m: pg.Notification): void => {
    if (m.channel === HANDOVER_CHANNEL) onRequest(m.payload ?? '');
  };
  client.on('notification', handler);
  await client.query(`LISTEN ${HANDOVER_CHANNEL}`);
  return () => void client.off('notification', handler);
}
