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
import { snapshotXmin, syncTables, type TableSync } from '../../src/cutover/sync.js';
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
CREATE TABLE "we""ird.schema".visits (patient int, day date, n int, PRIMARY KEY (patient, day));
CREATE TABLE "we""ird.schema".people (id int PRIMARY KEY, email text UNIQUE, sponsor int REFERENCES "we""ird.schema".people (id));
CREATE TABLE "we""ird.schema".readings (id int, at date, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE "we""ird.schema".readings_2024 PARTITION OF "we""ird.schema".readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE FUNCTION "we""ird.schema".stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := 'rewritten by a trigger'; RETURN NEW; END $$;
CREATE TRIGGER stamp BEFORE INSERT OR UPDATE ON "we""ird.schema".readings FOR EACH ROW EXECUTE FUNCTION "we""ird.schema".stamp();
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
INSERT INTO "we""ird.schema".visits SELECT 1 + g % 20, DATE '2024-01-01' + g, g FROM generate_series(1, 200) g;
INSERT INTO "we""ird.schema".people SELECT g, 'p' || g || '@clinic.example', NULL FROM generate_series(1, 30) g;
ALTER TABLE "we""ird.schema".readings DISABLE TRIGGER stamp;
INSERT INTO "we""ird.schema".readings SELECT g, DATE '2024-01-01' + g, 'reading ' || g FROM generate_series(1, 100) g;
ALTER TABLE "we""ird.schema".readings ENABLE TRIGGER stamp;
`;

let dbs: FreshDatabases;
/**
 * What a sync changed. (A table it only looked at may be listed with nothing written: the source's snapshot xmin is
 * cluster-wide, so a long transaction of another test on the same server makes older rows count as "written since",
 * which errs on the safe side.)
 */
const changed = (r: readonly TableSync[]): TableSync[] => r.filter((t) => t.written > 0 || t.deleted > 0 || t.recopied);
const clients: pg.Client[] = [];

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  clients.push(c);
  return c;
}

/** Each table under the same name on both sides. */
function same(list: readonly TableInfo[]): Array<{ from: TableInfo; to: TableInfo }> {
  return list.map((t) => ({ from: t, to: t }));
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
    const list = (await tables(from)).filter((t) => t.kind !== 'partitioned');
    const first = await syncTables(same(list), { from, to });
    expect(first.map((t) => t.table).sort()).toEqual([
      'we"ird.schema.Parent',
      'we"ird.schema.keyless',
      'we"ird.schema.people',
      'we"ird.schema.quiet',
      'we"ird.schema.readings_2024',
      'we"ird.schema.select',
      'we"ird.schema.visits',
    ]);
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
    const second = await syncTables(same(list), { from, to }, { unchangedSince: since });
    // the quiet table was not written; the others carried exactly the changes
    expect(
      changed(second)
        .map((t) => t.table)
        .sort(),
    ).toEqual(['we"ird.schema.Parent', 'we"ird.schema.keyless', 'we"ird.schema.select']);
    const sel = second.find((t) => t.table === 'we"ird.schema.select');
    expect(sel?.written).toBe(1 + 8);
    expect(sel?.deleted).toBe(40);
    // the keyless table moves as a multiset: only the two deleted copies go, nothing is copied again
    expect(second.find((t) => t.table === 'we"ird.schema.keyless')).toMatchObject({
      written: 0,
      deleted: 2,
      recopied: false,
    });
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
  });

  it('compares a table again when only a delete happened (its count moved), not when nothing did', async () => {
    const from = await client(dbs.sourceUrl);
    const to = await client(dbs.targetUrl);
    const list = (await tables(from)).filter((t) => t.kind !== 'partitioned');
    const since = await snapshotXmin(from);
    expect(changed(await syncTables(same(list), { from, to }, { unchangedSince: since }))).toEqual([]);
    await withPg(dbs.sourceUrl, (c) => c.query('DELETE FROM "we""ird.schema".quiet WHERE id = 17'));
    const r = await syncTables(same(list), { from, to }, { unchangedSince: since });
    expect(changed(r)).toEqual([
      { table: 'we"ird.schema.quiet', written: 0, deleted: 1, recopied: false, found: 'buckets' },
    ]);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
    // inserts and updates only: exactly the rows written since are carried, found by xmin (no checksums)
    const since2 = await snapshotXmin(from);
    await withPg(dbs.sourceUrl, (c) =>
      c.query(
        `INSERT INTO "we""ird.schema".quiet VALUES (9001, 'new'); UPDATE "we""ird.schema".quiet SET v = 'edited' WHERE id IN (1, 2)`,
      ),
    );
    const w = await syncTables(same(list), { from, to }, { unchangedSince: since2 });
    expect(changed(w)).toEqual([
      { table: 'we"ird.schema.quiet', written: 3, deleted: 0, recopied: false, found: 'written-since' },
    ]);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
    // an insert and a delete that keep the count: the delete is still found (by buckets)
    const since3 = await snapshotXmin(from);
    await withPg(dbs.sourceUrl, (c) =>
      c.query(
        `INSERT INTO "we""ird.schema".quiet VALUES (9002, 'another'); DELETE FROM "we""ird.schema".quiet WHERE id = 3`,
      ),
    );
    const d = await syncTables(same(list), { from, to }, { unchangedSince: since3 });
    expect(changed(d)).toEqual([
      { table: 'we"ird.schema.quiet', written: 1, deleted: 1, recopied: false, found: 'buckets' },
    ]);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
    // a keyless table: two more copies of a row, one copy of another gone, one row rewritten (its old copy gone,
    // a new one there): exactly those copies move, duplicates kept
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`INSERT INTO "we""ird.schema".keyless VALUES ('k2', 1), ('k2', 1);
               DELETE FROM "we""ird.schema".keyless WHERE ctid = (SELECT min(ctid) FROM "we""ird.schema".keyless WHERE v = 'k3' AND w = 0);
               UPDATE "we""ird.schema".keyless SET v = E'tab\there' WHERE ctid = (SELECT min(ctid) FROM "we""ird.schema".keyless WHERE v = 'k4' AND w = 1)`),
    );
    const k = await syncTables(same(list), { from, to });
    expect(changed(k)).toEqual([
      { table: 'we"ird.schema.keyless', written: 3, deleted: 2, recopied: false, found: 'buckets' },
    ]);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
  });

  it('syncs composite keys, a unique value freed by a delete and taken by a new row, a self-reference to a new row, and partitions with a row trigger held off', async () => {
    const from = await client(dbs.sourceUrl);
    const to = await client(dbs.targetUrl);
    const list = (await tables(from)).filter((t) => t.kind !== 'partitioned');
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`UPDATE "we""ird.schema".visits SET n = -n WHERE patient = 3;
               DELETE FROM "we""ird.schema".visits WHERE patient = 4;
               INSERT INTO "we""ird.schema".visits VALUES (99, '2030-01-01', 1);
               DELETE FROM "we""ird.schema".people WHERE id = 5;
               INSERT INTO "we""ird.schema".people VALUES (500, 'p5@clinic.example', NULL);
               INSERT INTO "we""ird.schema".people VALUES (501, 'new@clinic.example', NULL);
               UPDATE "we""ird.schema".people SET sponsor = 501 WHERE id = 6;
               ALTER TABLE "we""ird.schema".readings DISABLE TRIGGER stamp;
               UPDATE "we""ird.schema".readings SET v = 'changed on the source' WHERE id % 10 = 0;
               INSERT INTO "we""ird.schema".readings VALUES (1000, '2024-06-01', 'new on the source');
               ALTER TABLE "we""ird.schema".readings ENABLE TRIGGER stamp;`),
    );
    const r = await syncTables(same(list), { from, to });
    expect(
      changed(r)
        .map((t) => t.table)
        .sort(),
    ).toEqual(['we"ird.schema.people', 'we"ird.schema.readings_2024', 'we"ird.schema.visits']);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
    // the target's trigger (cloned onto the partition) is enabled again
    const enabled = await withPg(
      dbs.targetUrl,
      async (c) =>
        (
          await c.query(
            `SELECT tgenabled FROM pg_trigger WHERE tgname = 'stamp' AND tgrelid = '"we""ird.schema".readings_2024'::regclass`,
          )
        ).rows[0],
    );
    expect(enabled).toEqual({ tgenabled: 'O' });
  });
});
