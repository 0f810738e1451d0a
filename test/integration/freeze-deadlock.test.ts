/**
 * The write freeze never makes an application transaction a deadlock victim. A writer holds one table and, once the
 * freeze has waited for it longer than deadlock_timeout (1 s), asks for another table the freeze would already hold:
 * an attempt of the freeze waits at most FREEZE_LOCK_WAIT_MS for a lock, then lets go of all it holds, so the writer
 * gets its table, commits, and the freeze starts after it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FREEZE_LOCK_WAIT_MS, freezeWrites, unfreezeWrites } from '../../src/cutover/freeze.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the write freeze and a writer of two tables', () => {
  let dbs: FreshDatabases;
  beforeAll(async () => {
    dbs = await freshDatabases('freeze_deadlock');
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`CREATE TABLE "a t" (id int PRIMARY KEY, n int); CREATE TABLE "b t" (id int PRIMARY KEY, n int);
               INSERT INTO "a t" VALUES (1, 0); INSERT INTO "b t" VALUES (1, 0);`),
    );
  });
  afterAll(async () => dbs?.drop());

  it('lets the writer finish, then freezes', async () => {
    expect(FREEZE_LOCK_WAIT_MS).toBeLessThan(1000); // below the default deadlock_timeout
    const writer = new pg.Client({ connectionString: dbs.sourceUrl });
    const admin = new pg.Client({ connectionString: dbs.sourceUrl });
    await Promise.all([writer.connect(), admin.connect()]);
    try {
      await writer.query('BEGIN');
      await writer.query('UPDATE "a t" SET n = n + 1 WHERE id = 1');
      // the freeze takes "b t" first, then waits for "a t", which the writer holds
      const t0 = performance.now();
      const freeze = freezeWrites(
        admin,
        [
          { schema: 'public', name: 'b t' },
          { schema: 'public', name: 'a t' },
        ],
        { id: 'freeze-deadlock', drainTimeoutMs: 10_000, onDrainTimeout: 'abort', expiresInMs: 60_000 },
      );
      await sleep(1500);
      // past deadlock_timeout: before, the writer was the deadlock victim here (40P01)
      await writer.query('UPDATE "b t" SET n = n + 1 WHERE id = 1');
      await writer.query('COMMIT');
      const r = await freeze;
      expect(r.tables).toBe(2);
      expect(performance.now() - t0).toBeGreaterThan(1500);
      // the writer's changes are in, and writes are frozen now
      const n = await withPg(dbs.sourceUrl, async (c) => (await c.query('SELECT n FROM "b t" WHERE id = 1')).rows[0].n);
      expect(n).toBe(1);
      await expect(withPg(dbs.sourceUrl, (c) => c.query('UPDATE "a t" SET n = 5'))).rejects.toMatchObject({
        code: '25006',
      });
    } finally {
      await writer.query('ROLLBACK').catch(() => undefined);
      await unfreezeWrites(admin, { dropSchema: true }).catch(() => undefined);
      await Promise.all([writer.end(), admin.end()]);
    }
  });
});
