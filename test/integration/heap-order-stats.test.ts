/**
 * The heap order's figures come from ANALYZE; a table that grew since is scaled to its heap's pages now, so that its
 * batches stay near their size (a table taken for one batch from old statistics would be copied in one transaction).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHeapOrder, unitBatchRows } from '../../src/copy/heap-order.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

let dbs: FreshDatabases;
beforeAll(async () => {
  dbs = await freshDatabases('heap_order_stats');
});
afterAll(async () => {
  await dbs?.drop();
});

describe('heap order of a table grown since ANALYZE', () => {
  it('scales the rows to the pages the heap has now', async () => {
    await withPg(dbs.sourceUrl, async (c) => {
      await c.query(`CREATE TABLE grown (id uuid PRIMARY KEY, v text) WITH (autovacuum_enabled = false);
        INSERT INTO grown SELECT md5('g' || i)::uuid, 'value ' || i FROM generate_series(1, 20000) i;
        ANALYZE grown;
        INSERT INTO grown SELECT md5('h' || i)::uuid, 'value ' || i FROM generate_series(1, 180000) i;`);
      const heap = await readHeapOrder(c, { schema: 'public', name: 'grown' }, 'id');
      expect(heap).not.toBeNull();
      // about 200,000 rows now, though ANALYZE counted 20,000
      expect(heap?.tuples).toBeGreaterThan(160_000);
      expect(heap?.tuples).toBeLessThan(240_000);
      // rows of 13 kB: a quarter of the table was 5,000 rows by the old statistics (one batch, under BATCH_BYTES);
      // it is about 50,000 now: batches of at most BATCH_BYTES
      const rows = unitBatchRows(1000, heap, 4, 13_422);
      expect(rows).not.toBeNull();
      expect(rows).toBeLessThanOrEqual(20_000);
    });
  });
});
