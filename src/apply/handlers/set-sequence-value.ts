import type pg from 'pg';
import { DDL_SESSION_SQL } from '../../catalog/session.js';
import { withTransaction } from '../../db/connect.js';
import type { SetSequenceValueAction } from '../../plan/model.js';

/** Sets a sequence to the source's last_value/is_called (never max(id)). */
export async function setSequenceValue(action: SetSequenceValueAction, client: pg.Client): Promise<void> {
  await withTransaction(client, async () => {
    await client.query(DDL_SESSION_SQL);
    for (const stmt of action.sql) await client.query(stmt);
  });
}
