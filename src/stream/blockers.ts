/**
 * Creating a logical slot waits until every transaction running on the source at that moment has ended. This runs the
 * creation with a bounded wait: a second session watches it, and on timeout cancels it and names the blocking
 * backends: pid, user, application, state and the age of the transaction, NEVER the query text (patient data).
 */
import pg from 'pg';
import { PgshiftError } from '../errors/index.js';
import { logger } from '../log/logger.js';

export interface Blocker {
  readonly pid: number;
  readonly user: string | null;
  readonly applicationName: string | null;
  readonly state: string | null;
  readonly xactAgeSeconds: number | null;
}

const POLL_MS = 200;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A second session to the same server and database as `c`, with its credentials and TLS settings. */
export async function siblingSession(c: pg.Client): Promise<pg.Client> {
  const s = new pg.Client({
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    password: c.password,
    ssl: c.ssl,
    application_name: 'pgshift',
  });
  s.on('error', () => undefined);
  await s.connect();
  return s;
}

/**
 * The transactions that the backend `pid` waits for: those it waits on now (pg_blocking_pids) and every other one of
 * the server that holds a transaction id and began before `since` (slot creation waits for each in turn).
 */
export async function blockersOf(watcher: pg.ClientBase, pid: number, since: Date): Promise<Blocker[]> {
  const r = await watcher.query<{
    pid: number;
    usename: string | null;
    application_name: string | null;
    state: string | null;
    age: number | null;
  }>(
    `SELECT a.pid, a.usename::text AS usename, a.application_name, a.state,
            floor(extract(epoch FROM clock_timestamp() - a.xact_start))::int AS age
       FROM pg_catalog.pg_stat_activity a
      WHERE a.pid <> $1 AND a.pid <> pg_catalog.pg_backend_pid()
        AND (a.pid = ANY (pg_catalog.pg_blocking_pids($1))
             OR (a.backend_xid IS NOT NULL AND a.xact_start <= $2))
      ORDER BY a.xact_start NULLS LAST, a.pid`,
    [pid, since],
  );
  return r.rows.map((b) => ({
    pid: b.pid,
    user: b.usename,
    applicationName: b.application_name,
    state: b.state,
    xactAgeSeconds: b.age,
  }));
}

export function describeBlocker(b: Blocker): string {
  const parts = [
    `user ${b.user ?? '?'}`,
    `application ${b.applicationName ? JSON.stringify(b.applicationName) : '(none)'}`,
    `state ${b.state ?? '?'}`,
    b.xactAgeSeconds === null ? 'no transaction' : `transaction open for ${b.xactAgeSeconds}s`,
  ];
  return `pid ${b.pid} (${parts.join(', ')})`;
}

/**
 * Runs `create` (the slot creation on `creator`, whose backend pid is `pid`) and waits at most `waitMs` for it. On
 * timeout the creation is cancelled and STREAM_SLOT_BLOCKED names the backends it waited for.
 */
export async function boundedSlotCreation<T>(
  creator: pg.Client,
  slot: string,
  waitMs: number,
  create: () => Promise<T>,
): Promise<T> {
  // the creation waits for running transactions through their xid locks: the session's lock_timeout (pgshift's
  // bounded default) would end it with a bare 55P03 before `waitMs`, without naming who it waited for
  const pidRow = await creator.query<{ pid: number; now: Date; lock_timeout: string }>(
    `SELECT pg_catalog.pg_backend_pid() AS pid, clock_timestamp() AS now,
            pg_catalog.current_setting('lock_timeout') AS lock_timeout`,
  );
  const {
    pid,
    now: since,
    lock_timeout: lockTimeout,
  } = pidRow.rows[0] as {
    pid: number;
    now: Date;
    lock_timeout: string;
  };
  await creator.query(`SELECT pg_catalog.set_config('lock_timeout', '0', false)`);
  try {
    return await watchCreation(creator, pid, since, slot, waitMs, create);
  } finally {
    await creator
      .query(`SELECT pg_catalog.set_config('lock_timeout', $1, false)`, [lockTimeout])
      .catch(() => undefined);
  }
}

async function watchCreation<T>(
  creator: pg.Client,
  pid: number,
  since: Date,
  slot: string,
  waitMs: number,
  create: () => Promise<T>,
): Promise<T> {
  // the watcher first: without it a creation that hangs could not be cancelled
  const watcher = await siblingSession(creator);
  let settled = false;
  const creation = create().finally(() => {
    settled = true;
  });
  creation.catch(() => undefined);
  try {
    const started = Date.now();
    const deadline = started + waitMs;
    let warned = false;
    while (!settled && Date.now() < deadline) {
      await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
      if (!warned && !settled && Date.now() - started > Math.min(2000, waitMs / 2)) {
        const waiting = await blockersOf(watcher, pid, since);
        if (waiting.length > 0) {
          warned = true;
          logger().warn({ slot, transactions: waiting.length }, 'creating the replication slot waits for transactions');
        }
      }
    }
    if (settled) return await creation;
    const blockers = await blockersOf(watcher, pid, since);
    await watcher.query('SELECT pg_catalog.pg_cancel_backend($1)', [pid]);
    await creation.catch(() => undefined);
    const list = blockers.length > 0 ? blockers.map(describeBlocker).join('; ') : 'none seen any more';
    throw new PgshiftError(
      'STREAM_SLOT_BLOCKED',
      `creating replication slot ${slot} on the source waited ${waitMs}ms for transactions that were already running: ${list}`,
      {
        hint:
          'A slot starts only after every transaction running at that moment ended. Let them finish (or end them with ' +
          'SELECT pg_terminate_backend(pid) on the source), then run pgshift apply again.',
      },
    );
  } finally {
    await watcher.end().catch(() => undefined);
  }
}
