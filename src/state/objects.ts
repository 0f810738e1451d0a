/** pgshift.objects: what pgshift created on the target (destroy drops exactly these). */
import { sql } from 'kysely';
import type pg from 'pg';
import { stateDb } from './db.js';

/** Records a created (or re-created) object, in the caller's transaction with its DDL. */
export async function recordObject(
  client: pg.ClientBase,
  o: { readonly address: string; readonly kind: string; readonly definitionHash: string; readonly runId: string },
): Promise<void> {
  await stateDb(client)
    .insertInto('pgshift.objects')
    .values({ address: o.address, kind: o.kind, definition_hash: o.definitionHash, created_by_run: o.runId })
    .onConflict((oc) =>
      oc.column('address').doUpdateSet((eb) => ({
        definition_hash: eb.ref('excluded.definition_hash'),
        created_by_run: eb.ref('excluded.created_by_run'),
        created_at: sql<Date>`clock_timestamp()`,
      })),
    )
    .execute();
}

/** Forgets objects that were dropped (or are gone), in the caller's transaction. */
export async function forgetObjects(client: pg.ClientBase, addresses: readonly string[]): Promise<void> {
  if (addresses.length === 0) return;
  await stateDb(client)
    .deleteFrom('pgshift.objects')
    .where('address', 'in', [...addresses])
    .execute();
}
