/**
 * What pgshift does not create on the target is named in the plan, never left behind without a word: a rewrite
 * rule, extended statistics, a text search configuration, an operator, a cast. Objects an extension made (citext's
 * operators and casts) and objects of tables outside the migration are not named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, type FreshDatabases, waitForSettled, withPg } from '../support/databases.js';

const cfg = configDir('unsupported-objects');

const SOURCE = `
CREATE EXTENSION citext WITH SCHEMA public;
CREATE SCHEMA "Od ""d""";
CREATE TABLE "Od ""d""".visits (id int PRIMARY KEY, a int, b int, note text);
CREATE TABLE "Od ""d""".visits_log (id int, at timestamptz DEFAULT now());
CREATE RULE "log ""visits""" AS ON INSERT TO "Od ""d""".visits DO ALSO INSERT INTO "Od ""d""".visits_log (id) VALUES (NEW.id);
CREATE STATISTICS "Od ""d""".visits_ab (dependencies) ON a, b FROM "Od ""d""".visits;
CREATE TEXT SEARCH CONFIGURATION "Od ""d""".notes_cfg (COPY = pg_catalog.english);
CREATE FUNCTION "Od ""d""".near(int, int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT abs($1 - $2) < 2';
CREATE OPERATOR "Od ""d""".~~~ (LEFTARG = int, RIGHTARG = int, FUNCTION = "Od ""d""".near);
CREATE TYPE "Od ""d""".pair AS (x int, y int);
CREATE FUNCTION "Od ""d""".pair_text("Od ""d""".pair) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT $1.x || '','' || $1.y';
CREATE CAST ("Od ""d""".pair AS text) WITH FUNCTION "Od ""d""".pair_text("Od ""d""".pair);
CREATE TABLE "Od ""d""".skipped (id int PRIMARY KEY);
CREATE RULE skipped_rule AS ON DELETE TO "Od ""d""".skipped DO INSTEAD NOTHING;
INSERT INTO "Od ""d""".visits SELECT i, i, i FROM generate_series(1, 10) i;
`;

describe('objects pgshift does not create', () => {
  let dbs: FreshDatabases;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dbs = await freshDatabases('unsupported_objects');
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE));
    await waitForSettled(dbs.sourceUrl);
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
  });
  afterAll(async () => {
    await dbs?.drop();
  });

  it('are each named in the plan with what to do, and nothing else is', async () => {
    const file = cfg.write(minimalConfig(`tables: { exclude: ['Od "d".skipped'] }\n`), 'u.yaml');
    const r = runCli(['plan', '-c', file, '--json'], env);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      findings: { code: string; severity: string; message: string; hint: string }[];
    };
    const named = plan.findings.filter((f) => f.code === 'OBJECT_NOT_MIGRATED');
    expect(named.map((f) => f.message).sort()).toEqual([
      // a cast is named by its types as SQL spells them
      'cast ("Od ""d""".pair AS text) is not migrated: pgshift does not create casts',
      'operator Od "d".~~~ is not migrated: pgshift does not create operators',
      'rule "log "visits"" on table Od "d".visits is not migrated: pgshift does not create rules',
      'statistics "visits_ab" on table Od "d".visits is not migrated: pgshift does not create extended statistics',
      'text search configuration Od "d".notes_cfg is not migrated: pgshift does not create text search configurations',
    ]);
    expect(named.every((f) => f.severity === 'warning' && f.hint.length > 20)).toBe(true);
    // a warning, not a blocker: the rest migrates
    const a = runCli(['apply', '-c', file, '--auto-approve'], env);
    expect(a.status, a.stdout + a.stderr).toBe(0);
  });
});
