import type pg from 'pg';
import { DDL_SESSION_SQL } from '../../catalog/session.js';
import { qualified } from '../../db/ident.js';
import { withTransaction } from '../../db/connect.js';
import type { CreateObjectAction } from '../../plan/model.js';
import { deleteCheckpoint } from '../../state/checkpoints.js';
import { assertLockHeld } from '../../state/lock.js';
import { recordObject } from '../../state/objects.js';
import type { RunContext } from './context.js';
import { sleep } from '../sleep.js';
import { watchSession } from './session-progress.js';

/** Creates one schema object and records it in pgshift.objects, in ONE transaction, under the lock fence. */
export async function createObject(action: CreateObjectAction, client: pg.Client, ctx: RunContext): Promise<void> {
  // an index or constraint build can take minutes: its progress (or the lock it waits for) while it runs
  const stop = watchSession(action, client, ctx);
  try {
    await build(action, client, ctx);
  } finally {
    stop();
  }
}

async function build(action: CreateObjectAction, client: pg.Client, ctx: RunContext): Promise<void> {
  await withTransaction(client, async () => {
    await assertLockHeld(client, ctx.lockId, action.address);
    await client.query(DDL_SESSION_SQL);
    if (action.lockMode === 'attach' && action.table) await buildAndAttach(action, action.table, client, ctx);
    else for (const stmt of action.sql) await client.query(stmt);
    if (action.objectKind === 'table' && action.change === 'create') {
      // a (re-)created table holds no row: a checkpoint left from an earlier life of it must not skip its copy
      await deleteCheckpoint(client, `copy ${action.address.slice('table '.length)}`);
    }
    await recordObject(client, {
      address: action.address,
      kind: action.objectKind,
      definitionHash: action.definitionHash,
      runId: ctx.runId,
    });
  });
}

/**
 * An attaching build (KindModule.lockMode `attach`): its first statement builds an index under a SHARE lock, beside
 * the table's other builds; the next ones (ADD CONSTRAINT ... USING INDEX, REPLICA IDENTITY) need ACCESS EXCLUSIVE,
 * which waits for those builds to end, and a waiting request would queue every later reader of the table (a
 * read-back, the verification, an application's query) behind it until connection.lock_timeout. So each waits
 * first, without asking for the lock, while pgshift's own sessions still hold the table (a build can take longer
 * than lock_timeout), then runs; one that still times out is tried again in the same transaction (the index stays
 * built) when a pgshift session took the table meanwhile, and fails as any DDL (55P03, retried by the executor)
 * when only other sessions held it.
 */
async function buildAndAttach(
  action: CreateObjectAction,
  table: { readonly schema: string; readonly name: string },
  client: pg.Client,
  ctx: RunContext,
): Promise<void> {
  const [first, ...rest] = action.sql;
  if (first !== undefined) await client.query(first);
  if (rest.length > 0) ctx.onAttachPending?.();
  for (const stmt of rest) {
    for (;;) {
      // pgshift's own holders first (a reader of any other session may come and go meanwhile)
      while (!ctx.signal?.aborted && (await pgshiftHolders(client, table)) > 0) await sleep(ATTACH_POLL_MS, ctx.signal);
      await client.query('SAVEPOINT pgshift_attach');
      try {
        await client.query(stmt);
        await client.query('RELEASE SAVEPOINT pgshift_attach');
        break;
      } catch (err) {
        if ((err as { code?: unknown }).code !== '55P03') throw err;
        await client.query('ROLLBACK TO SAVEPOINT pgshift_attach');
        // timed out behind another session only (not one of pgshift's that took the table since): as any DDL
        if (ctx.signal?.aborted || (await pgshiftHolders(client, table)) === 0) throw err;
      }
    }
  }
}

const ATTACH_POLL_MS = 200;

/** pgshift's other sessions (application_name pgshift...) holding a lock on the table. */
async function pgshiftHolders(
  client: pg.Client,
  t: { readonly schema: string; readonly name: string },
): Promise<number> {
  const r = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n
       FROM pg_catalog.pg_locks l
       JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_catalog.pg_backend_pid()
        AND a.application_name LIKE 'pgshift%'
        AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
        AND l.relation = pg_catalog.to_regclass($1)`,
    [qualified(t.schema, t.name)],
  );
  return r.rows[0]?.n ?? 0;
}
