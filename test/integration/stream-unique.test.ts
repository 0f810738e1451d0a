/**
 * The stream replays changes from before the copy's snapshot over rows the copy already holds. A unique index other
 * than the key can then meet a value that a row copied at a later snapshot already holds (src/stream/applier.ts,
 * `repairing`): that row makes way and is written again by its own later change, from the source's row when that
 * change does not carry its TOASTed values. Real servers, `follow()` directly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION } from '../../src/db/connect.js';
import { follow } from '../../src/stream/follow.js';
import { expectSameData } from '../support/compare.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';
import { copyInSnapshot, currentLsn, setupStream, type StreamFixture } from '../support/stream.js';

// "select" and a quote in the column name: hostile names through the repair's statements
const DDL = `CREATE TABLE "select" (id int PRIMARY KEY, "e""mail" text UNIQUE, big text, tag text,
  UNIQUE (tag) INCLUDE (id));`;
// a value TOASTed out of line (random, so it does not compress): an update that does not touch it does not send it
const BIG = `(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 400))`;
let dbs: FreshDatabases;
let fx: StreamFixture;

beforeAll(async () => {
  dbs = await freshDatabases('stream unique');
  await withPg(dbs.sourceUrl, (c) =>
    c.query(`${DDL} INSERT INTO "select" VALUES (1, 'a', ${BIG}, 't1'), (3, 'c', ${BIG}, 't3');`),
  );
  await withPg(dbs.targetUrl, (c) => c.query(DDL));
  fx = await setupStream(dbs, ['"select"']);
});
afterAll(async () => {
  await fx?.drop();
  await dbs?.drop();
});

describe('a unique index besides the key', () => {
  it('replays a prefix over a later copy: the copied row makes way, its own change restores it, TOAST included', async () => {
    await withPg(dbs.sourceUrl, async (c) => {
      await c.query(`INSERT INTO "select" VALUES (2, 'b', 'small', 't2')`);
      await c.query(`UPDATE "select" SET "e""mail" = 'z' WHERE id = 2`);
      // row 1 takes 'b' in an update that leaves its TOASTed big value out of the stream
      await c.query(`UPDATE "select" SET "e""mail" = 'b' WHERE id = 1`);
      // and a second index: row 3's tag moves to row 2's old one
      await c.query(`UPDATE "select" SET tag = 'tx' WHERE id = 2`);
      await c.query(`UPDATE "select" SET tag = 't2' WHERE id = 3`);
    });
    await copyInSnapshot(dbs, [
      { schema: 'public', name: 'select', sql: '"select"', columns: `id, "e""mail", big, tag` },
    ]);
    const r = await follow({
      source: fx.source,
      target: fx.target,
      settings: DEFAULT_SESSION,
      slot: fx.slot,
      publications: [fx.publication],
      tables: [
        { source: { schema: 'public', name: 'select' }, target: { schema: 'public', name: 'select' }, key: ['id'] },
      ],
      untilLsn: await currentLsn(dbs.sourceUrl),
    });
    expect(r.stoppedBy).toBe('until');
    expect(r.warnings.join('\n')).toMatch(/2 row\(s\) of public\.select copied at a later snapshot/);
    expect(r.warnings.join('\n')).not.toMatch(/'b'|small|t2/);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
  });
});
