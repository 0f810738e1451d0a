/**
 * follow() on keyed tables: inserts, updates (a key change, an update leaving a big TOASTed value unchanged), deletes
 * land on the target exactly as on the source; the slot's confirmed_flush_lsn equals the applied position stored on
 * the target after follow returns; a second follow with nothing new applies nothing. A transaction holding only a
 * pgshift message (the cutover fence) moves the position to its end; an abort signal stops an idle stream with the
 * position stored and confirmed; a lock id that no longer holds the target's lock stops follow before any change.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION } from '../../src/db/connect.js';
import { acquireLock } from '../../src/state/lock.js';
import { follow } from '../../src/stream/follow.js';
import { expectSameData } from '../support/compare.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';
import { currentLsn, positions, setupStream, type StreamFixture } from '../support/stream.js';

const S = '"Kéyed ""Clinic"""';
const DDL = `
CREATE SCHEMA ${S};
CREATE TABLE ${S}."Patients" (id int PRIMARY KEY, "Full Name" text NOT NULL, chart text, visits int NOT NULL DEFAULT 0);
CREATE TABLE ${S}.pairs (a int, b text, v text, PRIMARY KEY (a, b));
`;

let dbs: FreshDatabases;
let fx: StreamFixture;

beforeAll(async () => {
  dbs = await freshDatabases('stream keyed');
  await withPg(dbs.sourceUrl, (c) => c.query(DDL));
  await withPg(dbs.targetUrl, (c) => c.query(DDL));
  fx = await setupStream(dbs, [`${S}."Patients"`, `${S}.pairs`]);
});

afterAll(async () => {
  await fx?.drop();
  await dbs?.drop();
});

const options = () => ({
  source: fx.source,
  target: fx.target,
  settings: DEFAULT_SESSION,
  slot: fx.slot,
  publications: [fx.publication],
  tables: [
    {
      source: { schema: 'Kéyed "Clinic"', name: 'Patients' },
      target: { schema: 'Kéyed "Clinic"', name: 'Patients' },
      key: ['id'],
    },
    {
      source: { schema: 'Kéyed "Clinic"', name: 'pairs' },
      target: { schema: 'Kéyed "Clinic"', name: 'pairs' },
      key: ['a', 'b'],
    },
  ],
});

describe('follow on keyed tables', () => {
  it('applies inserts, updates, key changes, TOAST-unchanged updates and deletes, and confirms what it committed', async () => {
    await withPg(dbs.sourceUrl, async (c) => {
      // a chart far above the TOAST threshold, not compressible to below it
      await c.query(
        `INSERT INTO ${S}."Patients" (id, "Full Name", chart)
         SELECT g, 'patient ' || g, (SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 400) i)
           FROM generate_series(1, 50) g`,
      );
      await c.query(`INSERT INTO ${S}.pairs SELECT g, 'b' || g, 'v' FROM generate_series(1, 20) g`);
      await c.query(`UPDATE ${S}."Patients" SET visits = visits + 1 WHERE id <= 10`); // chart unchanged: 'u'
      await c.query(`UPDATE ${S}."Patients" SET id = 1000 + id WHERE id IN (11, 12)`); // key change, chart unchanged
      await c.query(`UPDATE ${S}."Patients" SET id = 2000, chart = 'short' WHERE id = 13`); // key change, all sent
      await c.query(`DELETE FROM ${S}."Patients" WHERE id IN (14, 15)`);
      await c.query(`UPDATE ${S}.pairs SET b = 'moved', v = 'w' WHERE a = 3`);
      await c.query(`DELETE FROM ${S}.pairs WHERE a = 4`);
      await c.query('BEGIN');
      await c.query(`INSERT INTO ${S}."Patients" (id, "Full Name") VALUES (16000, 'x')`);
      await c.query(`UPDATE ${S}."Patients" SET "Full Name" = 'y' WHERE id = 16000`);
      await c.query(`DELETE FROM ${S}."Patients" WHERE id = 16000`);
      await c.query('COMMIT');
    });
    const until = await currentLsn(dbs.sourceUrl);
    const progress: string[] = [];
    const r = await follow({ ...options(), untilLsn: until, onProgress: (p) => progress.push(p.appliedLsn) });
    expect(r.stoppedBy).toBe('until');
    expect(r.transactions).toBeGreaterThanOrEqual(9);
    expect(progress.length).toBeGreaterThan(0);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
    const p = await positions(dbs, fx.slot);
    expect(p.applied).toBe(r.appliedLsn);
    expect(p.confirmed).toBe(p.applied);

    // nothing new: a second run applies nothing and stops at once
    const again = await follow({ ...options(), untilLsn: until });
    expect(again.transactions).toBe(0);
    expect(again.changes).toBe(0);
  });

  it('moves past a pgshift message, stops on a signal, and respects the lock fence', async () => {
    const fence = await withPg(dbs.sourceUrl, async (c) => {
      const r = await c.query<{ l: string }>(
        "SELECT pg_logical_emit_message(true, 'pgshift', 'cutover test')::text AS l",
      );
      return r.rows[0]?.l as string;
    });
    const r = await follow({ ...options(), untilLsn: fence });
    expect(r.stoppedBy).toBe('until');
    expect(r.transactions).toBe(1);
    expect(r.changes).toBe(0);
    const p = await positions(dbs, fx.slot);
    expect(p.applied).toBe(r.appliedLsn);
    expect(p.confirmed).toBe(p.applied);

    // a signal: an idle stream stops, what it stored is what the slot confirms
    await withPg(dbs.sourceUrl, (c) => c.query(`INSERT INTO ${S}.pairs VALUES (99, 'signal', 'v')`));
    const abort = new AbortController();
    const stopped = await follow({
      ...options(),
      signal: abort.signal,
      onProgress: (q) => {
        if (q.changes >= 1) abort.abort();
      },
    });
    expect(stopped).toMatchObject({ stoppedBy: 'signal', changes: 1 });
    const q = await positions(dbs, fx.slot);
    expect(q.confirmed).toBe(q.applied);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);

    // the lock fence: a lock id that is not the holder's stops follow before it changes anything
    const holder = new pg.Client({ connectionString: dbs.targetUrl });
    await holder.connect();
    try {
      const lock = await acquireLock(holder, { runId: 'r1', command: 'apply', operator: 'test', host: 'h' });
      await withPg(dbs.sourceUrl, (c) => c.query(`INSERT INTO ${S}.pairs VALUES (100, 'fenced', 'v')`));
      const until = await currentLsn(dbs.sourceUrl);
      await expect(follow({ ...options(), untilLsn: until, lockId: 'not-the-lock' })).rejects.toMatchObject({
        code: 'LOCK_HELD',
      });
      const n = await withPg(dbs.targetUrl, (c) => c.query(`SELECT 1 FROM ${S}.pairs WHERE a = 100`));
      expect(n.rowCount).toBe(0);
      const ok = await follow({ ...options(), untilLsn: until, lockId: lock.lockId });
      expect(ok.changes).toBe(1);
      await lock.release();
    } finally {
      await holder.end();
    }
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
  });
});
