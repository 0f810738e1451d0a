/**
 * A table copied whole (no key: one atomic unit) lands with COPY FREEZE: truncated in the copy's transaction, its
 * rows written frozen, most pages all-frozen in the visibility map (pg_visibility), so nothing rewrites its pages to set hint bits or to freeze
 * them later. Where TRUNCATE is refused (a foreign key of a target-only table references it) it is a plain COPY.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { expectSameData } from '../support/compare.js';
import { freshDatabases, type FreshDatabases, waitForSettled, withPg } from '../support/databases.js';

const cfg = configDir('copy-freeze');

const SOURCE = `
CREATE TABLE "log ""book""" (at timestamptz, line text);
INSERT INTO "log ""book""" SELECT '2026-01-01'::timestamptz + i * interval '1 s', repeat('x', i % 50) FROM generate_series(1, 20000) i;
CREATE TABLE codes (code text UNIQUE, label text);
INSERT INTO codes SELECT 'c' || i, 'label ' || i FROM generate_series(1, 500) i;
`;

describe('COPY FREEZE of a whole table', () => {
  let dbs: FreshDatabases;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dbs = await freshDatabases('copy_freeze');
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE));
    await waitForSettled(dbs.sourceUrl);
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
    // the target already has codes, and a table of its own referencing it: codes cannot be truncated there
    await withPg(dbs.targetUrl, (c) =>
      c.query(`CREATE TABLE codes (code text UNIQUE, label text);
               CREATE TABLE local_refs (code text REFERENCES codes (code));
               CREATE EXTENSION IF NOT EXISTS pg_visibility;`),
    );
  });
  afterAll(async () => {
    await dbs?.drop();
  });

  const frozen = (table: string): Promise<{ pages: number; frozen: number }> =>
    withPg(dbs.targetUrl, async (c) => {
      const r = await c.query<{ pages: string; frozen: string }>(
        `SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int AS pages,
                (SELECT all_frozen FROM pg_visibility_map_summary($1::regclass)) AS frozen`,
        [table],
      );
      return { pages: Number(r.rows[0]?.pages), frozen: Number(r.rows[0]?.frozen) };
    });

  it('writes the rows frozen, and falls back to a plain COPY where TRUNCATE is refused', async () => {
    const file = cfg.write(minimalConfig(), 'f.yaml');
    const r = runCli(['apply', '-c', file, '--auto-approve'], env);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl, { ignoreTargetOnly: true });
    const log = await frozen('public."log ""book"""');
    expect(log.pages).toBeGreaterThan(10);
    // COPY marks each page it fills in one go all-frozen in the visibility map (a page it came back to is not)
    expect(log.frozen).toBeGreaterThan(log.pages * 0.6);
    // codes: referenced by a foreign key on the target, so a plain COPY (nothing frozen until a VACUUM)
    const codes = await frozen('public.codes');
    expect(codes.pages).toBeGreaterThan(0);
    expect(codes.frozen).toBe(0);
  });
});
