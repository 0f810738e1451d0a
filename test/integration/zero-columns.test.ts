/**
 * A table without columns still has rows (`CREATE TABLE t ()`, then INSERT ... DEFAULT VALUES): pg_dump copies
 * them, so does pgshift. COPY takes no column list for such a table; the copy digest hashes an empty row; verify
 * counts and compares them like any keyless table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, type FreshDatabases, waitForSettled, withPg } from '../support/databases.js';

const cfg = configDir('zero-columns');

describe('a table without columns', () => {
  let dbs: FreshDatabases;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dbs = await freshDatabases('zero_columns');
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`CREATE TABLE "no ""columns"" here" ();
               INSERT INTO "no ""columns"" here" SELECT FROM generate_series(1, 7);
               CREATE TABLE with_cols (id int PRIMARY KEY);
               INSERT INTO with_cols SELECT generate_series(1, 5);`),
    );
    await waitForSettled(dbs.sourceUrl);
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
  });
  afterAll(async () => {
    await dbs?.drop();
  });

  const rows = (url: string): Promise<number> =>
    withPg(url, async (c) => Number((await c.query('SELECT count(*) AS n FROM "no ""columns"" here"')).rows[0].n));

  for (const checksums of ['full', 'none'] as const)
    it(`is copied with its rows and verified (verify.checksums ${checksums})`, async () => {
      const file = cfg.write(minimalConfig(`verify: { checksums: ${checksums} }\n`), `z-${checksums}.yaml`);
      const d = runCli(['destroy', '-c', file, '--auto-approve'], env);
      expect([0, 2], d.stdout + d.stderr).toContain(d.status);
      const r = runCli(['apply', '-c', file, '--auto-approve'], env);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(await rows(dbs.targetUrl)).toBe(7);
      const v = runCli(['verify', '-c', file, '--full', '--json'], env);
      expect(v.status, v.stdout + v.stderr).toBe(0);
      // one row fewer on the target, and nothing written on the source since the copy: a copy error
      const one = 'DELETE FROM "no ""columns"" here" WHERE ctid = (SELECT max(ctid) FROM "no ""columns"" here")';
      await withPg(dbs.targetUrl, (c) => c.query(one));
      const again = runCli(['verify', '-c', file, '--full', '--json'], env);
      expect(again.status, again.stdout).toBe(3);
      const t = (JSON.parse(again.stdout) as { tables: { table: string; rowsTarget: number; checksum: string }[] })
        .tables;
      expect(t.find((x) => x.table === 'public.no "columns" here')).toMatchObject({ rowsTarget: 6 });
    });
});
