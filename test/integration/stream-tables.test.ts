/**
 * follow() on every kind of table the stream carries, under hostile names (quotes, spaces, mixed case, unicode):
 * a keyless append-only table whose copy snapshot was taken while a transaction was in flight (rows visible to it
 * are not inserted twice, the others are), a REPLICA IDENTITY FULL keyless table with update/delete of duplicates
 * (and a json column, which has no equality), a TRUNCATE, an identity ALWAYS column, a generated column, an enum.
 * After follow(untilLsn) the target equals the source. And visible() agrees with the server's
 * pg_visible_in_snapshot, for the test's real transactions and across an epoch.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION } from '../../src/db/connect.js';
import { follow, type FollowTable } from '../../src/stream/follow.js';
import { visible } from '../../src/stream/visibility.js';
import { expectSameData } from '../support/compare.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';
import { copyInSnapshot, currentLsn, positions, setupStream, type StreamFixture } from '../support/stream.js';

const SCHEMA = 'Wïde "Ø" Clinic';
const S = '"Wïde ""Ø"" Clinic"';
const DDL = `
CREATE SCHEMA ${S};
CREATE TYPE ${S}."Mood" AS ENUM ('ok', 'not ok');
CREATE TABLE ${S}."Visit Log" (at int, "Msg Text" text);
CREATE TABLE ${S}.notes (body text, n int, j json);
ALTER TABLE ${S}.notes REPLICA IDENTITY FULL;
CREATE TABLE ${S}.small (id int PRIMARY KEY, v text);
CREATE TABLE ${S}."Ids" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text, m ${S}."Mood",
  doubled int GENERATED ALWAYS AS (length(v) * 2) STORED);
CREATE TABLE ${S}."Mixed Case ✓" (" key " int PRIMARY KEY, "select" text, "we""ird" int);
`;
const SEED = `
INSERT INTO ${S}.notes VALUES ('dup', 1, '{"a": 1}'), ('dup', 1, '{"a": 1}'), ('dup', 1, '{"a": 1}'), ('other', 2, NULL);
INSERT INTO ${S}."Visit Log" VALUES (1, 'seed'), (1, 'seed');
INSERT INTO ${S}.small SELECT g, 'v' || g FROM generate_series(1, 5) g;
INSERT INTO ${S}."Ids" (v, m) VALUES ('a', 'ok'), ('bb', 'not ok'), (NULL, NULL);
INSERT INTO ${S}."Mixed Case ✓" VALUES (1, 'one', 1), (2, 'two', 2), (3, NULL, 3);
`;
const t = (name: string, key: string[] | null): FollowTable => ({
  source: { schema: SCHEMA, name },
  target: { schema: SCHEMA, name },
  key,
});
const TABLES = [
  t('Visit Log', null),
  t('notes', null),
  t('small', ['id']),
  t('Ids', ['id']),
  t('Mixed Case ✓', [' key ']),
];

let dbs: FreshDatabases;
let fx: StreamFixture;

beforeAll(async () => {
  dbs = await freshDatabases('stream tables');
  await withPg(dbs.sourceUrl, (c) => c.query(DDL + SEED));
  await withPg(dbs.targetUrl, (c) => c.query(DDL));
  fx = await setupStream(
    dbs,
    ['"Visit Log"', 'notes', 'small', '"Ids"', '"Mixed Case ✓"'].map((n) => `${S}.${n}`),
  );
});

afterAll(async () => {
  await fx?.drop();
  await dbs?.drop();
});

describe('follow on keyless, identity, generated and truncated tables', () => {
  let snapshot = '';
  const xids: bigint[] = [];

  it('converges: rows the copy saw are not applied twice, the others are', async () => {
    const inFlight = new pg.Client({ connectionString: dbs.sourceUrl });
    await inFlight.connect();
    try {
      // A: in flight while the copy's snapshot is taken; B: committed before it
      await inFlight.query('BEGIN');
      xids.push(
        BigInt((await inFlight.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0]?.x ?? 0),
      );
      await inFlight.query(`INSERT INTO ${S}."Visit Log" VALUES (2, 'A: in flight during the copy')`);
      await inFlight.query(`INSERT INTO ${S}.notes VALUES ('dup', 1, '{"a": 1}')`);
      await withPg(dbs.sourceUrl, async (c) => {
        await c.query('BEGIN');
        xids.push(BigInt((await c.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0]?.x ?? 0));
        await c.query(`INSERT INTO ${S}."Visit Log" VALUES (3, 'B: committed before the copy')`);
        await c.query(`DELETE FROM ${S}.notes WHERE ctid = (SELECT ctid FROM ${S}.notes WHERE body = 'other')`);
        await c.query('COMMIT');
      });
      snapshot = await copyInSnapshot(dbs, [
        { schema: SCHEMA, name: 'Visit Log', sql: `${S}."Visit Log"`, columns: 'at, "Msg Text"' },
        { schema: SCHEMA, name: 'notes', sql: `${S}.notes`, columns: 'body, n, j' },
        { schema: SCHEMA, name: 'small', sql: `${S}.small`, columns: 'id, v' },
        { schema: SCHEMA, name: 'Ids', sql: `${S}."Ids"`, columns: 'id, v, m' },
        { schema: SCHEMA, name: 'Mixed Case ✓', sql: `${S}."Mixed Case ✓"`, columns: '" key ", "select", "we""ird"' },
      ]);
      await inFlight.query('COMMIT');
    } finally {
      await inFlight.end();
    }
    await withPg(dbs.sourceUrl, async (c) => {
      await c.query('BEGIN');
      xids.push(BigInt((await c.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0]?.x ?? 0));
      await c.query(`INSERT INTO ${S}."Visit Log" VALUES (4, 'C: after the copy'), (4, 'C: after the copy')`);
      await c.query('COMMIT');
      // one of the duplicates changes, one goes: exactly one row each
      await c.query(
        `UPDATE ${S}.notes SET n = 10, j = '{"b": 2}' WHERE ctid = (SELECT ctid FROM ${S}.notes WHERE body = 'dup' LIMIT 1)`,
      );
      await c.query(`DELETE FROM ${S}.notes WHERE ctid = (SELECT ctid FROM ${S}.notes WHERE n = 1 LIMIT 1)`);
      await c.query(`INSERT INTO ${S}."Ids" (v, m) VALUES ('ccc', 'ok'), ('dddd', NULL)`);
      await c.query(`UPDATE ${S}."Ids" SET v = 'changed', m = 'not ok' WHERE id = 1`);
      await c.query(`DELETE FROM ${S}."Ids" WHERE id = 2`);
      await c.query(`UPDATE ${S}."Mixed Case ✓" SET " key " = 30, "select" = 'moved' WHERE " key " = 3`);
      await c.query(`UPDATE ${S}."Mixed Case ✓" SET "we""ird" = NULL WHERE " key " = 1`);
      await c.query(`INSERT INTO ${S}."Mixed Case ✓" VALUES (4, E'tab\\there ''q'' "dq"', 4)`);
      await c.query(`TRUNCATE ${S}.small`);
      await c.query(`INSERT INTO ${S}.small VALUES (100, 'after the truncate')`);
    });
    const until = await currentLsn(dbs.sourceUrl);
    const r = await follow({
      source: fx.source,
      target: fx.target,
      settings: DEFAULT_SESSION,
      slot: fx.slot,
      publications: [fx.publication],
      tables: TABLES,
      untilLsn: until,
    });
    expect(r.warnings).toEqual([]);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
    const log = await withPg(dbs.targetUrl, (c) =>
      c.query<{ m: string; n: string }>(
        `SELECT "Msg Text" AS m, count(*)::text AS n FROM ${S}."Visit Log" GROUP BY 1 ORDER BY 1`,
      ),
    );
    expect(log.rows).toEqual([
      { m: 'A: in flight during the copy', n: '1' },
      { m: 'B: committed before the copy', n: '1' },
      { m: 'C: after the copy', n: '2' },
      { m: 'seed', n: '2' },
    ]);
    const ids = await withPg(dbs.targetUrl, (c) =>
      c.query<{ id: string; doubled: number | null }>(`SELECT id::text, doubled FROM ${S}."Ids" ORDER BY id`),
    );
    expect(ids.rows).toEqual([
      { id: '1', doubled: 14 },
      { id: '3', doubled: null },
      { id: '4', doubled: 6 },
      { id: '5', doubled: 8 },
    ]);
    const p = await positions(dbs, fx.slot);
    expect(p.confirmed).toBe(p.applied);
  });

  it("agrees with the server's pg_visible_in_snapshot", async () => {
    expect(xids).toHaveLength(3);
    const cases: [bigint, string][] = xids.map((x) => [x, snapshot]);
    const E = 1n << 32n;
    const wrap = `${E - 10n}:${E + 10n}:${E - 5n},${E + 2n}`;
    for (const x of [E - 20n, E - 10n, E - 5n, E - 1n, E, E + 2n, E + 3n, E + 10n, E + 11n]) cases.push([x, wrap]);
    cases.push([5n, '5:5:'], [4n, '5:5:']);
    await withPg(dbs.sourceUrl, async (c) => {
      for (const [x, snap] of cases) {
        const r = await c.query<{ v: boolean }>('SELECT pg_visible_in_snapshot($1::xid8, $2::pg_snapshot) AS v', [
          x.toString(),
          snap,
        ]);
        expect({ x, snap, v: visible(Number(x & 0xffffffffn), snap) }).toEqual({ x, snap, v: r.rows[0]?.v });
      }
    });
    // the test's own transactions: A in flight (not visible), B committed before (visible), C after (not visible)
    expect(xids.map((x) => visible(Number(x & 0xffffffffn), snapshot))).toEqual([false, true, false]);
  });
});
