import type pg from 'pg';
import { PgshiftError } from '../errors/index.js';

/**
 * Before a command that compares what pgshift put on the target (verify): refused with STATE_MISSING when nothing
 * was applied yet (no state, or a state that records neither an object nor a copy nor large objects: an apply that was declined or
 * blocked, a refused cutover), instead of failing on the first table the target does not have.
 */
export async function assertApplied(client: pg.ClientBase, what: string): Promise<void> {
  const r = await client.query<{ ok: boolean; lo: boolean }>(
    `SELECT pg_catalog.to_regclass('pgshift.objects') IS NOT NULL
        AND pg_catalog.to_regclass('pgshift.migration_checkpoints') IS NOT NULL AS ok,
            pg_catalog.to_regclass('pgshift.large_object_copy') IS NOT NULL AS lo`,
  );
  if (r.rows[0]?.ok === true) {
    // a copy of large objects alone (a source whose tables are all on the target already) is something applied too
    const lo = r.rows[0].lo ? ' UNION ALL SELECT 1 FROM pgshift.large_object_copy' : '';
    const any = await client.query(
      `SELECT 1 FROM pgshift.objects UNION ALL SELECT 1 FROM pgshift.migration_checkpoints${lo} LIMIT 1`,
    );
    if (any.rowCount === 1) return;
  }
  throw new PgshiftError('STATE_MISSING', `${what}: pgshift has not applied anything to this target yet`, {
    hint: 'Run `pgshift plan` to review what it would do, then `pgshift apply` (it copies the data and verifies it).',
  });
}
