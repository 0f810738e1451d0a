/**
 * The row hash compares what a text comparison (and the copy) would keep apart: a value replaced on the target by
 * one that is EQUAL to it but not the same (numeric scale, -0, an interval's spelling, a jsonb number, array bounds,
 * a string a case-insensitive collation calls equal) is a difference; a clean copy of those types from 15 to 17
 * (NaN, infinities, time zones, reg* values, an enum) is none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, type FreshDatabases, waitForSettled, withPg } from '../support/databases.js';

const cfg = configDir('verify-exact');
let dbs: FreshDatabases;
let file: string;
let env: NodeJS.ProcessEnv;

const TABLE = `"Exact ""values"""`;

const SOURCE = `
CREATE SCHEMA data;
CREATE COLLATION data.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TYPE data.mood AS ENUM ('calm', 'tense');
CREATE TABLE data.${TABLE} (
  id int PRIMARY KEY,
  n numeric,
  f float8,
  iv interval,
  j jsonb,
  a int[],
  ci text COLLATE data.ci,
  ts timestamptz,
  r regclass,
  m data.mood,
  nr numrange
);
INSERT INTO data.${TABLE} VALUES
  (1, 1.0, 1.5, '1 day', '{"a": 1}', '{1,2}', 'abc', '2026-01-01 10:00+01', 'pg_class', 'calm', '[1.0,2.0)'),
  (2, 2.50, 0, '2 days', '{"a": [1, 2]}', '{3}', 'Abc', 'infinity', 'pg_type', 'tense', NULL),
  (3, 'NaN', 'NaN', '1 mon', '{"b": 1.0}', NULL, 'x', '-infinity', NULL, NULL, 'empty'),
  (4, -0.0, '-Infinity', '-1 hour', '{}', '{}', NULL, NULL, 'pg_proc', 'calm', '[1,2]'),
  (5, 10, 3.25, '3 days', '{"c": 1}', '{5,6}', 'déjà', '1999-12-31 23:59:59.999999+00', 'pg_class', 'calm', NULL),
  (6, 7, 1e300, '00:00:01.5', '[1, 2]', '{7}', 'ok', '2000-01-01', 'pg_class', 'tense', NULL),
  (7, 8, 2, '1 year', '"s"', '{8}', 'same', '2000-01-01', 'pg_class', 'tense', '[3.0,4.0]');
`;

interface Report {
  ok: boolean;
  tables: {
    table: string;
    checksum: string;
    differences: { kind: string; key?: Record<string, string>; columns?: string[] }[];
  }[];
}

beforeAll(async () => {
  dbs = await freshDatabases('verify-exact');
  await withPg(dbs.sourceUrl, (c) => c.query(SOURCE));
  // pgshift does not create collations (yet): the target has it already
  await withPg(dbs.targetUrl, (c) =>
    c.query(
      "CREATE SCHEMA data; CREATE COLLATION data.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
    ),
  );
  file = cfg.write(minimalConfig('copy: { batch_size: 3 }\nverify: { checksums: full }\n'), 'exact.yaml');
  env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
  await waitForSettled(dbs.sourceUrl);
  const r = runCli(['apply', '-c', file, '--auto-approve'], env);
  if (r.status !== 0) throw new Error(r.stdout + r.stderr);
});
afterAll(async () => {
  await dbs?.drop();
  cfg.remove();
});

describe('verify: exact values', () => {
  it('finds no difference after a clean copy of these types from 15 to 17', () => {
    const r = runCli(['verify', '-c', file, '--full', '--json'], env);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.tables.find((t) => t.table === 'data.Exact "values"')?.checksum, r.stdout).toBe('match');
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('finds values replaced by equal but different ones, and names their columns', async () => {
    await withPg(dbs.targetUrl, (c) =>
      c.query(`
        UPDATE data.${TABLE} SET n = 1.00 WHERE id = 1;            -- 1.0 = 1.00
        UPDATE data.${TABLE} SET f = '-0' WHERE id = 2;             -- 0 = -0
        UPDATE data.${TABLE} SET iv = '30 days' WHERE id = 3;       -- 1 mon = 30 days
        UPDATE data.${TABLE} SET j = '{"b": 1.00}' WHERE id = 3;    -- jsonb 1.0 = 1.00
        UPDATE data.${TABLE} SET a = '[0:1]={5,6}' WHERE id = 5;    -- {5,6} = [0:1]={5,6}
        UPDATE data.${TABLE} SET ci = 'OK' WHERE id = 6;            -- equal under the case-insensitive collation
        UPDATE data.${TABLE} SET nr = '[3.00,4.00]' WHERE id = 7;   -- equal ranges, other scale
      `),
    );
    // each is equal by the operators the server hashes with (arrays: hashed alike): a typed hash would miss them
    const equal = await withPg(
      dbs.targetUrl,
      async (c) =>
        (
          await c.query<{ ok: boolean }>(
            `SELECT 1.0 = 1.00 AND 0::float8 = '-0'::float8 AND '1 mon'::interval = '30 days' AND '{"b": 1.0}'::jsonb = '{"b": 1.00}'
              AND pg_catalog.hash_array_extended('{5,6}'::int[], 0) = pg_catalog.hash_array_extended('[0:1]={5,6}'::int[], 0)
              AND 'ok' = 'OK' COLLATE data.ci AND '[3.0,4.0]'::numrange = '[3.00,4.00]' AS ok`,
          )
        ).rows[0]?.ok,
    );
    expect(equal).toBe(true);
    const r = runCli(['verify', '-c', file, '--full', '--json'], env);
    expect(r.status, r.stdout + r.stderr).toBe(3);
    const t = (JSON.parse(r.stdout) as Report).tables.find((x) => x.table === 'data.Exact "values"');
    const changed = Object.fromEntries(
      (t?.differences ?? []).filter((d) => d.kind === 'changed').map((d) => [d.key?.id, d.columns]),
    );
    expect(changed).toEqual({
      '1': ['n'],
      '2': ['f'],
      '3': ['iv', 'j'],
      '5': ['a'],
      '6': ['ci'],
      '7': ['nr'],
    });
  });
});
