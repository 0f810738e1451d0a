/**
 * DDL on the source while streaming: ALTER TABLE ADD COLUMN mid-stream stops follow() with STREAM_SCHEMA_CHANGED
 * naming the table and the column (no value in the message); the transactions before it are on the target, the
 * failing one is not (not even its change of another table, made before the changed table's Relation message), and
 * the slot confirms nothing past the stored position. Once the column is added on the target, follow resumes and
 * the target converges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION } from '../../src/db/connect.js';
import { follow, type FollowOptions } from '../../src/stream/follow.js';
import { expectSameData } from '../support/compare.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';
import { currentLsn, positions, setupStream, type StreamFixture } from '../support/stream.js';

const DDL = `
CREATE TABLE "Charts" (id int PRIMARY KEY, v text);
CREATE TABLE audit (id int PRIMARY KEY, what text);
`;

let dbs: FreshDatabases;
let fx: StreamFixture;

beforeAll(async () => {
  dbs = await freshDatabases('stream schema change');
  await withPg(dbs.sourceUrl, (c) => c.query(DDL));
  await withPg(dbs.targetUrl, (c) => c.query(DDL));
  fx = await setupStream(dbs, ['"Charts"', 'audit']);
});

afterAll(async () => {
  await fx?.drop();
  await dbs?.drop();
});

const options = (untilLsn: string): FollowOptions => ({
  source: fx.source,
  target: fx.target,
  settings: DEFAULT_SESSION,
  slot: fx.slot,
  publications: [fx.publication],
  tables: [
    { source: { schema: 'public', name: 'Charts' }, target: { schema: 'public', name: 'Charts' }, key: ['id'] },
    { source: { schema: 'public', name: 'audit' }, target: { schema: 'public', name: 'audit' }, key: ['id'] },
  ],
  untilLsn,
});

describe('a schema change on the source while streaming', () => {
  it('stops with STREAM_SCHEMA_CHANGED, keeps what came before, and resumes once the target has the column', async () => {
    await withPg(dbs.sourceUrl, async (c) => {
      for (let i = 1; i <= 5; i++)
        await c.query(`INSERT INTO "Charts" VALUES ($1::int, 'secret-before-' || $1::text)`, [i]);
      await c.query(`INSERT INTO audit VALUES (1, 'before')`);
      await c.query(`ALTER TABLE "Charts" ADD COLUMN "Weight kg" numeric(5,1)`);
      await c.query('BEGIN');
      await c.query(`INSERT INTO audit VALUES (2, 'in the failing transaction')`);
      await c.query(`INSERT INTO "Charts" VALUES (6, 'secret-after', 81.5)`);
      await c.query('COMMIT');
      await c.query(`UPDATE "Charts" SET "Weight kg" = 70 WHERE id = 1`);
    });
    const until = await currentLsn(dbs.sourceUrl);
    const err = await follow(options(until)).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'STREAM_SCHEMA_CHANGED',
      message: expect.stringMatching(/public\.Charts.*Weight kg \(on the source only\)/),
      hint: expect.stringContaining('pgshift plan'),
    });
    expect(String((err as Error).message)).not.toContain('secret');
    const target = await withPg(dbs.targetUrl, async (c) => ({
      charts: (await c.query<{ id: number }>('SELECT id FROM "Charts" ORDER BY id')).rows.map((r) => r.id),
      audit: (await c.query<{ id: number }>('SELECT id FROM audit ORDER BY id')).rows.map((r) => r.id),
      status: (await c.query<{ s: string }>('SELECT status AS s FROM pgshift.stream')).rows[0]?.s,
    }));
    expect(target).toEqual({ charts: [1, 2, 3, 4, 5], audit: [1], status: 'failed' });
    const stopped = await positions(dbs, fx.slot);
    expect(stopped.applied).not.toBeNull();
    expect(stopped.confirmed).toBe(stopped.applied);

    // the same again: still stopped at the same place
    await expect(follow(options(until))).rejects.toMatchObject({ code: 'STREAM_SCHEMA_CHANGED' });
    expect((await positions(dbs, fx.slot)).applied).toBe(stopped.applied);

    await withPg(dbs.targetUrl, (c) => c.query(`ALTER TABLE "Charts" ADD COLUMN "Weight kg" numeric(5,1)`));
    const r = await follow(options(until));
    expect(r.stoppedBy).toBe('until');
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
    const p = await positions(dbs, fx.slot);
    expect(p.confirmed).toBe(p.applied);
  });

  it('names a type change too', async () => {
    await withPg(dbs.sourceUrl, async (c) => {
      await c.query(`ALTER TABLE audit ALTER COLUMN what TYPE varchar(40)`);
      await c.query(`INSERT INTO audit VALUES (3, 'typed')`);
    });
    const err = await follow(options(await currentLsn(dbs.sourceUrl))).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'STREAM_SCHEMA_CHANGED',
      message: expect.stringContaining('what (its type differs)'),
    });
    await withPg(dbs.targetUrl, (c) => c.query(`ALTER TABLE audit ALTER COLUMN what TYPE varchar(40)`));
    await follow(options(await currentLsn(dbs.sourceUrl)));
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
  });
});
