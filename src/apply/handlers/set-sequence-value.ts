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
 * setval() only when it raises the target's sequence: greatest(target's, source's) in the sequence's direction
 * (INCREMENT BY < 0 counts down). One statement: the target's value is read where it is set. Returns whether it set.
 */
async function raiseTo(client: pg.Client, seq: { schema: string; name: string }, value: { last: string; called: boolean }): Promise<boolean> {
  const r = await client.query<{ set: string }>(
    `SELECT pg_catalog.setval(p.seqrelid, $2::bigint, $3::boolean)::text AS set
       FROM ${qualified(seq.schema, seq.name)} s, pg_catalog.pg_sequence p
      WHERE p.seqrelid = $1::pg_catalog.regclass
        AND NOT (CASE WHEN p.seqincrement < 0 THEN s.last_value < $2::bigint ELSE s.last_value > $2::bigint END
                 OR (s.last_value = $2::bigint AND (s.is_called OR NOT $3::boolean)))`,
    [qualified(seq.schema, seq.name), value.last, value.called],
  );
  return r.rows.length > 0;
}

/**
 * Sets a sequence to the source's last_value/is_called (never max(id)), read when the action runs: it waits for
 * the copies of the tables using the sequence, so the value covers every row they copied even on a live source.
 * Never lowers it: a target already at or past the source's value (the application took values there) is kept. The
 * setval commits with the lock fence's check (a setval is not rolled back, so the check comes first).
 */
export async function setSequenceValue(action: SetSequenceValueAction, client: pg.Client, ctx: RunContext): Promise<void> {
  const now = (await currentValue(action, ctx)) ?? action.value;
  await withTransaction(client, async () => {
    await assertLockHeld(client, ctx.lockId, action.address);
    await client.query(DDL_SESSION_SQL);
    if (now && action.sequence) {
      await raiseTo(client, action.sequence, now);
      return;
    }
    // an action made by hand (no sequence named): its statements as they are
    for (const stmt of action.sql) await client.query(stmt);
  });
}
