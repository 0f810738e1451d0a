import type pg from 'pg';
import { DDL_SESSION_SQL } from '../../catalog/session.js';
import { withTransaction } from '../../db/connect.js';
import { qualified } from '../../db/ident.js';
import type { SetSequenceValueAction } from '../../plan/model.js';
import { assertLockHeld } from '../../state/lock.js';
import type { RunContext } from './context.js';

/** The source sequence's value now: a live source has moved it on since the plan was made. */
async function currentValue(action: SetSequenceValueAction, ctx: RunContext): Promise<{ last: string; called: boolean } | undefined> {
  if (!action.sequence || !ctx.openSource) return undefined;
  const source = await ctx.openSource();
  try {
    const r = await source.query<{ last: string; called: boolean }>(`SELECT last_value::text AS last, is_called AS called FROM ${qualified(action.sequence.schema, action.sequence.name)}`);
    return r.rows[0];
  } catch {
    return undefined; // e.g. a schema mapped by schemas.map: the value the plan read is used
  } finally {
    await source.end().catch(() => undefined);
  }
}

/**
 * Sets a sequence to the source's last_value/is_called (never max(id)), read when the action runs: it waits for
 * the copies of the tables using the sequence, so the value covers every row they copied even on a live source. The
 * setval commits with the lock fence's check (a setval is not rolled back, so the check comes first).
 */
export async function setSequenceValue(action: SetSequenceValueAction, client: pg.Client, ctx: RunContext): Promise<void> {
  const now = await currentValue(action, ctx);
  await withTransaction(client, async () => {
    await assertLockHeld(client, ctx.lockId, action.address);
    await client.query(DDL_SESSION_SQL);
    if (now && action.sequence) {
      await client.query('SELECT pg_catalog.setval($1::pg_catalog.regclass, $2::bigint, $3)', [qualified(action.sequence.schema, action.sequence.name), now.last, now.called]);
      return;
    }
    for (const stmt of action.sql) await client.query(stmt);
  });
}
