/** pgshift.verifications: one row per verification report (counts, hashes and keys only, never column values). */
import { sql } from 'kysely';
import type pg from 'pg';
import { stateDb } from './db.js';

export interface StoredVerification {
  readonly id: string;
  readonly runId: string | null;
  readonly planHash: string | null;
  readonly passed: boolean;
  /** JSON-able parts of the report as the state keeps them (the caller leaves out what must not be stored). */
  readonly policy: unknown;
  readonly summary: unknown;
  readonly report: unknown;
}

/** Stores a finished report, on the caller's client. */
export async function storeVerification(client: pg.ClientBase, v: StoredVerification): Promise<void> {
  await stateDb(client)
    .insertInto('pgshift.verifications')
    .values({
      id: v.id,
      run_id: v.runId,
      plan_hash: v.planHash,
      finished_at: sql<Date>`clock_timestamp()`,
      policy: JSON.stringify(v.policy),
      result: v.passed ? 'passed' : 'failed',
      summary: JSON.stringify(v.summary),
      report: JSON.stringify(v.report),
    })
    .execute();
}
