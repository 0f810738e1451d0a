/**
 * Backpressure: a reader far slower than the source does not make the replication session buffer the stream. With
 * 30,000 changes waiting on the server, a session read one frame every few milliseconds never holds more than its
 * high-water mark plus one socket read of frames; the frames it did not hold were left on the server (the socket was
 * not read), and every one of them still arrives afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION } from '../../src/db/connect.js';
import { decodePgoutput } from '../../src/stream/pgoutput.js';
import { ReplicationSession } from '../../src/stream/replication.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';
import { setupStream, type StreamFixture } from '../support/stream.js';

const ROWS = 30_000;
const HIGH_WATER_MARK = 16;
/** frames of one socket read (64 KiB of ~60-byte insert frames) on top of the high-water mark */
const BOUND = HIGH_WATER_MARK + 1500;

let dbs: FreshDatabases;
let fx: StreamFixture;

beforeAll(async () => {
  dbs = await freshDatabases('stream backpressure');
  await withPg(dbs.sourceUrl, (c) => c.query('CREATE TABLE t (id int PRIMARY KEY, v text)'));
  fx = await setupStream(dbs, ['t']);
  await withPg(dbs.sourceUrl, (c) => c.query(`INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, ${ROWS}) g`));
});

afterAll(async () => {
  await fx?.drop();
  await dbs?.drop();
});

describe('the replication session under a slow reader', () => {
  it('keeps the buffered frames below a bound and loses none', { timeout: 120_000 }, async () => {
    const session = await ReplicationSession.start({
      source: fx.source,
      settings: DEFAULT_SESSION,
      slot: fx.slot,
      publications: [fx.publication],
      startLsn: 0n,
      highWaterMark: HIGH_WATER_MARK,
    });
    let inserts = 0;
    let maxBuffered = 0;
    try {
      // slow: 300 frames, a pause after each, the buffer sampled every time
      for (let i = 0; i < 300; i++) {
        const f = await session.next(10_000);
        if (f?.kind === 'xlog' && decodePgoutput(f.data).tag === 'insert') inserts += 1;
        maxBuffered = Math.max(maxBuffered, session.buffered());
        await new Promise((r) => setTimeout(r, 3));
      }
      expect(maxBuffered).toBeLessThanOrEqual(BOUND);
      expect(session.maxBuffered).toBeLessThanOrEqual(BOUND);
      // then fast: everything still arrives
      while (inserts < ROWS) {
        const f = await session.next(10_000);
        if (!f) break;
        if (f.kind === 'xlog' && decodePgoutput(f.data).tag === 'insert') inserts += 1;
      }
      expect(inserts).toBe(ROWS);
      expect(session.maxBuffered).toBeLessThanOrEqual(BOUND);
    } finally {
      await session.close();
    }
  });
});
