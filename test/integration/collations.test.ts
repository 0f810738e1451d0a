/**
 * Collations created in the source (CREATE COLLATION): an ICU case-insensitive one that a unique e-mail column and a
 * domain use, a libc one named by an index, with hostile names and a comment. They are created on the target before
 * what names them, behave there as on the source (the unique index refuses another case of an address), leave no
 * drift for the next plan, verify clean, and go with `destroy`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, type FreshDatabases, waitForSettled, withPg } from '../support/databases.js';

const cfg = configDir('collations');

const SOURCE = `
CREATE SCHEMA "Co ""ll""";
CREATE COLLATION "Co ""ll"""."case ""insensitive""" (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE COLLATION "Co ""ll""".bytes (provider = libc, lc_collate = 'C', lc_ctype = 'C');
COMMENT ON COLLATION "Co ""ll"""."case ""insensitive""" IS 'e-mail addresses compare without case';
CREATE DOMAIN "Co ""ll""".email AS text COLLATE "Co ""ll"""."case ""insensitive""";
CREATE TABLE "Co ""ll""".people (
  id int PRIMARY KEY,
  email text COLLATE "Co ""ll"""."case ""insensitive""" UNIQUE,
  alt "Co ""ll""".email,
  name text
);
CREATE INDEX people_name_bytes ON "Co ""ll""".people (name COLLATE "Co ""ll""".bytes);
INSERT INTO "Co ""ll""".people SELECT i, 'User' || i || '@Example.org', 'alt' || i || '@x', 'n' || i FROM generate_series(1, 300) i;
`;

describe('collations', () => {
  let dbs: FreshDatabases;
  let env: NodeJS.ProcessEnv;
  let file: string;
  beforeAll(async () => {
    dbs = await freshDatabases('collations');
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE));
    await waitForSettled(dbs.sourceUrl);
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
    file = cfg.write(minimalConfig(), 'c.yaml');
  });
  afterAll(async () => {
    await dbs?.drop();
  });

  const collations = (url: string): Promise<{ name: string; provider: string; deterministic: boolean }[]> =>
    withPg(
      url,
      async (c) =>
        (
          await c.query<{ name: string; provider: string; deterministic: boolean }>(
            `SELECT c.collname AS name, c.collprovider::text AS provider, c.collisdeterministic AS deterministic
             FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
            WHERE n.nspname = 'Co "ll"' ORDER BY 1`,
          )
        ).rows,
    );

  it('plans them before what names them, and applies', async () => {
    const plan = JSON.parse(runCli(['plan', '-c', file, '--json'], env).stdout) as {
      actions: { address: string; dependsOn: string[] }[];
    };
    const ci = 'collation Co "ll".case "insensitive"';
    expect(plan.actions.map((a) => a.address)).toEqual(expect.arrayContaining([ci, 'collation Co "ll".bytes']));
    expect(plan.actions.find((a) => a.address === 'table Co "ll".people')?.dependsOn).toContain(ci);
    expect(plan.actions.find((a) => a.address === 'type Co "ll".email')?.dependsOn).toContain(ci);
    const r = runCli(['apply', '-c', file, '--auto-approve'], env);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(await collations(dbs.targetUrl)).toEqual(await collations(dbs.sourceUrl));
  });

  it('behave on the target as on the source, with no drift and a clean verify', async () => {
    // the unique index under the case-insensitive collation refuses another case of an address
    await expect(
      withPg(dbs.targetUrl, (c) =>
        c.query(`INSERT INTO "Co ""ll""".people VALUES (1000, 'USER1@EXAMPLE.ORG', NULL, NULL)`),
      ),
    ).rejects.toThrow(/duplicate key/);
    const comment = await withPg(
      dbs.targetUrl,
      async (c) =>
        (
          await c.query<{ d: string }>(
            `SELECT obj_description(c.oid, 'pg_collation') AS d FROM pg_collation c WHERE c.collname = 'case "insensitive"'`,
          )
        ).rows[0]?.d,
    );
    expect(comment).toBe('e-mail addresses compare without case');
    const again = runCli(['plan', '-c', file, '--detailed-exitcode'], env);
    expect(again.status, again.stdout + again.stderr).toBe(0);
    const v = runCli(['verify', '-c', file, '--full'], env);
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });

  it('are removed by destroy', async () => {
    const d = runCli(['destroy', '-c', file, '--auto-approve'], env);
    expect(d.status, d.stdout + d.stderr).toBe(0);
    expect(await collations(dbs.targetUrl)).toEqual([]);
  });
});
