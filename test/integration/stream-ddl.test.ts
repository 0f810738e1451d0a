/**
 * Issue 13: DDL on the source while streaming, through the CLI. A column added on the source stops `apply --follow`
 * with STREAM_SCHEMA_CHANGED naming the table; `plan` shows the column to add; `apply --follow` adds it, and the
 * stream resumes from where it stopped: nothing lost.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runCliAsync } from '../e2e/cli.js';
import { expectSameData } from '../support/compare.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, withPg } from '../support/databases.js';
import { exited, startCli, until } from '../support/follower.js';

const cfg = configDir('stream-ddl');
afterAll(() => cfg.remove());

const slotActive = (url: string): Promise<boolean> =>
  withPg(
    url,
    async (c) =>
      (
        await c.query(
          `SELECT 1 FROM pg_replication_slots WHERE slot_name LIKE 'pgshift%' AND database = current_database() AND active`,
        )
      ).rowCount === 1,
  );

describe('a column added on the source while streaming', () => {
  it('stops the stream with a clear error; plan shows the column; apply adds it and the stream resumes', async () => {
    const dbs = await freshDatabases('stream_ddl');
    try {
      await withPg(dbs.sourceUrl, (c) =>
        c.query(`CREATE TABLE "Visits" (id bigserial PRIMARY KEY, note text);
                 INSERT INTO "Visits" (note) SELECT 'v' || g FROM generate_series(1, 200) g;`),
      );
      const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
      const file = cfg.write(minimalConfig('cutover: { strategy: stream }\n'), 'ddl.yaml');

      const first = startCli(['apply', '-c', file, '--auto-approve', '--follow'], env);
      await until('the follower to stream', () => slotActive(dbs.sourceUrl));
      await withPg(dbs.sourceUrl, async (c) => {
        await c.query(`INSERT INTO "Visits" (note) VALUES ('before the change')`);
        await c.query(`ALTER TABLE "Visits" ADD COLUMN "Weight kg" numeric(5,1) DEFAULT 0`);
        await c.query(`INSERT INTO "Visits" (note, "Weight kg") VALUES ('after the change', 71.5)`);
        await c.query(`UPDATE "Visits" SET "Weight kg" = 80 WHERE id = 1`);
      });
      const code = await exited(first.child);
      expect(code, first.out()).toBe(1);
      expect(first.out()).toContain('STREAM_SCHEMA_CHANGED');
      expect(first.out()).toMatch(/public\.Visits.*Weight kg/);
      // the change before the DDL is on the target; nothing after it
      const notes = await withPg(dbs.targetUrl, async (c) =>
        (await c.query<{ note: string }>(`SELECT note FROM "Visits" WHERE id > 200 ORDER BY id`)).rows.map(
          (r) => r.note,
        ),
      );
      expect(notes).toEqual(['before the change']);

      const plan = await runCliAsync(['plan', '-c', file, '--detailed-exitcode'], env);
      expect(plan.status, plan.stderr).toBe(2);
      expect(plan.stdout).toMatch(/~ table public\.Visits +the source added column\(s\) Weight kg/);

      const second = startCli(['apply', '-c', file, '--auto-approve', '--follow'], env);
      await until('the stream to resume past the change', async () => {
        if (second.child.exitCode !== null)
          throw new Error(`the follower exited ${second.child.exitCode}:\n${second.out()}`);
        return withPg(
          dbs.targetUrl,
          async (c) => (await c.query(`SELECT 1 FROM "Visits" WHERE note = 'after the change'`)).rowCount === 1,
        ).catch(() => false);
      });
      await until('the last change', async () =>
        withPg(
          dbs.targetUrl,
          async (c) => (await c.query(`SELECT 1 FROM "Visits" WHERE id = 1 AND "Weight kg" = 80`)).rowCount === 1,
        ),
      );
      second.child.kill('SIGINT');
      expect(await exited(second.child), second.out()).toBe(130);
      await expectSameData(dbs.sourceUrl, dbs.targetUrl);
    } finally {
      await dbs.drop();
    }
  }, 180_000);
});
