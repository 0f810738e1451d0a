/**
 * The final sync (src/cutover/sync.ts) on its own: every type a clinic uses round-trips through its text path
 * (enum, jsonb, bytea, numeric, float, arrays, timestamps, NULLs, tabs/newlines/backslashes), inserts, updates and
 * deletes land under hostile names, parents before children; and with `unchangedSince` a table nobody wrote to is
 * not compared again while a table with a write or a delete is.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/catalog/introspect.js';
import type { TableInfo } from '../../src/catalog/types.js';
import { snapshotXmin, syncTables } from '../../src/cutover/sync.js';
import { expectSameData } from '../support/compare.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const DDL = `
CREATE SCHEMA "we""ird.schema";
CREATE TYPE "we""ird.schema".mood AS ENUM ('ok', 'not ok', 'it''s complicated');
CREATE TABLE "we""ird.schema"."Parent" (id int PRIMARY KEY, label text);
CREATE TABLE "we""ird.schema"."select" (
  id bigint PRIMARY KEY, parent int REFERENCES "we""ird.schema"."Parent" (id),
  m "we""ird.schema".mood, j jsonb, b bytea, n numeric(12,4), f float8, arr text[], ts timestamptz, d date, note text,
  total numeric GENERATED ALWAYS AS (n * 2) STORED);
CREATE TABLE "we""ird.schema".quiet (id int PRIMARY KEY, v text);
CREATE TABLE "we""ird.schema".keyless (v text, w int);
`;

const SEED = `
INSERT INTO "we""ird.schema"."Parent" SELECT g, 'p' || g FROM generate_series(1, 50) g;
INSERT INTO "we""ird.schema"."select" (id, parent, m, j, b, n, f, arr, ts, d, note)
SELECT g, 1 + g % 50, (ARRAY['ok', 'not ok', 'it''s complicated']::"we""ird.schema".mood[])[1 + g % 3],
       jsonb_build_object('k', g, 's', E'tab\\there'), decode(lpad(to_hex(g), 8, '0'), 'hex'), g / 7.0, g / 3.0,
       ARRAY['a,b', E'q"uote', NULL], TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * interval '1 minute', DATE '2000-01-01' + g,
       CASE WHEN g % 4 = 0 THEN NULL ELSE E'line\\nbreak \\\\ back\\\\slash\\r' END
FROM generate_series(1, 2000) g;
INSERT INTO "we""ird.schema".quiet SELECT g, 'q' || g FROM generate_series(1, 300) g;
INSERT INTO "we""ird.schema".keyless SELECT 'k' || (g % 5), g % 3 FROM generate_series(1, 40) g;
`;

let dbs: FreshDatabases;
const clients: pg.Client[] = [];

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  clients.push(c);
  return c;
}

async function tables(c: pg.Client): Promise<TableInfo[]> {
  const cat = await introspect(c);
  return cat.tables.filter((t) => t.schema === 'we"ird.schema').sort((a, b) => (a.name < b.name ? -1 : 1));
}

beforeAll(async () => {
  dbs = await freshDatabases('sync');
  await withPg(dbs.sourceUrl, (c) => c.query(DDL + SEED));
  await withPg(dbs.targetUrl, (c) => c.query(DDL));
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await dbs?.drop();
});

describe('final sync', () => {
  it('copies every type through the text path, then carries inserts, updates and deletes, parents first', async () => {
    const from = await client(dbs.sourceUrl);
    const to = await client(dbs.targetUrl);
    const list = await tables(from);
    const first = await syncTables(list, { from, to });
    expect(first.map((t) => t.table).sort()).toEqual(['we"ird.schema.Parent', 'we"ird.schema.keyless', 'we"ird.schema.quiet', 'we"ird.schema.select']);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);

    const since = await snapshotXmin(from);
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`INSERT INTO "we""ird.schema"."Parent" VALUES (51, 'new parent');
               INSERT INTO "we""ird.schema"."select" (id, parent, m, note) VALUES (5000, 51, 'it''s complicated', E'\\\\N is not null');
               UPDATE "we""ird.schema"."select" SET j = '{"changed": true}', f = 'NaN', n = -0.0001 WHERE id % 250 = 0;
               DELETE FROM "we""ird.schema"."select" WHERE parent = 3;
               DELETE FROM "we""ird.schema"."Parent" WHERE id = 3;
               DELETE FROM "we""ird.schema".keyless WHERE w = 2 AND v = 'k1';`),
    );
    const second = await syncTables(list, { from, to }, { unchangedSince: since });
    // the quiet table was not compared again; the others were, and carried exactly the changes
    expect(second.map((t) => t.table).sort()).toEqual(['we"ird.schema.Parent', 'we"ird.schema.keyless', 'we"ird.schema.select']);
    const sel = second.find((t) => t.table === 'we"ird.schema.select');
    expect(sel?.written).toBe(1 + 8);
    expect(sel?.deleted).toBe(40);
    expect(second.find((t) => t.table === 'we"ird.schema.keyless')?.recopied).toBe(true);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
  });

  it('compares a table again when only a delete happened (its count moved), not when nothing did', async () => {
    const from = await client(dbs.sourceUrl);
    const to = await client(dbs.targetUrl);
    const list = await tables(from);
    const since = await snapshotXmin(from);
    expect(await syncTables(list, { from, to }, { unchangedSince: since })).toEqual([]);
    await withPg(dbs.sourceUrl, (c) => c.query('DELETE FROM "we""ird.schema".quiet WHERE id = 17'));
    const r = await syncTables(list, { from, to }, { unchangedSince: since });
    expect(r).toEqual([{ table: 'we"ird.schema.quiet', written: 0, deleted: 1, recopied: false }]);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
  });
});
