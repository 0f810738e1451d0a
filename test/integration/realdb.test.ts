/**
 * The real sample databases (pagila, chinook, northwind), loaded unmodified into the source 15, migrated by
 * `pgshift apply` into the target 17: the target's schema equals the source's object for object, and a second
 * plan says No changes; every table holds the same rows.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { expectSameData, expectSameSchema } from '../support/compare.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, type FreshDatabases } from '../support/databases.js';
import { fixturesDir } from '../support/fixtures.js';
import { loadSqlFile } from '../support/load-sql.js';

const dir = fixturesDir();
if (!dir)
  console.warn(
    'realdb: the fixtures in ../shared/fixtures are absent (set PGSHIFT_FIXTURES_DIR): these tests are skipped',
  );
const cfg = configDir('realdb');
afterAll(() => cfg.remove());

const FIXTURES: ReadonlyArray<{ name: string; files: string[]; renames?: (db: string) => Record<string, string> }> = [
  { name: 'pagila', files: ['pagila/pagila-schema.sql', 'pagila/pagila-data.sql'] },
  { name: 'chinook', files: ['chinook/Chinook_PostgreSql.sql'], renames: (db) => ({ chinook: db }) },
  { name: 'northwind', files: ['northwind/northwind.sql'] },
];

describe.runIf(dir !== null)('real sample databases, schema and data', () => {
  it.each(FIXTURES)('$name: apply makes the target equal (schema and rows), then No changes', async (fx) => {
    let dbs: FreshDatabases | undefined;
    try {
      dbs = await freshDatabases(`realdb_${fx.name}`);
      for (const f of fx.files) {
        await loadSqlFile(
          dbs.sourceUrl,
          join(dir as string, 'realdb', f),
          fx.renames ? { databaseRenames: fx.renames(dbs.name) } : {},
        );
      }
      const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
      const file = cfg.write(minimalConfig('copy: { batch_size: 500, parallel: 2 }\n'), `${fx.name}.yaml`);
      const applied = runCli(['apply', '-c', file, '--auto-approve'], env);
      expect(applied.status, applied.stderr + applied.stdout).toBe(0);
      await expectSameSchema(dbs.sourceUrl, dbs.targetUrl);
      await expectSameData(dbs.sourceUrl, dbs.targetUrl);
      const verified = runCli(['verify', '-c', file, '--full'], env);
      expect(verified.status, verified.stdout + verified.stderr).toBe(0);
      const again = runCli(['plan', '-c', file, '--detailed-exitcode'], env);
      expect(again.status, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toContain('No changes.');
    } finally {
      await dbs?.drop();
    }
  });
});
