import { describe, expect, it } from 'vitest';
import { HEAP_PASSES, unitBatchRows, type HeapOrder } from '../../src/copy/heap-order.js';
import { BATCH_BYTES } from '../../src/plan/copy-actions.js';

// bench/split.ts's table: 3M rows of a random uuid key, 351 MB (43k pages), 117 bytes a row
const big: HeapOrder = { correlation: 0.003, pages: 43_000, tuples: 3_000_000 };

describe('batches of a key in no heap order', () => {
  it('keeps copy.batch_size without statistics, for a key in heap order, and for batches far below the pages', () => {
    expect(unitBatchRows(100_000, null, 1, 117)).toBe(100_000);
    expect(unitBatchRows(100_000, { ...big, correlation: 0.98 }, 1, 117)).toBe(100_000);
    expect(unitBatchRows(100_000, { ...big, correlation: -0.97 }, 4, 117)).toBe(100_000);
    // a batch of 100k rows over 1.3M pages reads about 100k of them however the table is cut
    expect(unitBatchRows(100_000, { ...big, pages: 1_300_000, tuples: 30_000_000 }, 1, 340)).toBe(100_000);
  });

  it('reads the heap at most HEAP_PASSES times: a whole table in 4 batches, each part of 2 in 2', () => {
    expect(HEAP_PASSES).toBe(4);
    expect(unitBatchRows(100_000, big, 1, 117)).toBe(750_000);
    expect(unitBatchRows(100_000, { ...big, correlation: -0.1 }, 2, 117)).toBe(750_000);
    // never smaller than asked: a table of 5 batches stays at 5 (at most 4 passes cannot be met by fewer rows)
    expect(unitBatchRows(100_000, { ...big, tuples: 300_000, pages: 4_300 }, 1, 117)).toBe(100_000);
  });

  it('copies a part of a table in 4 or more parts as one batch, unless it is larger than BATCH_BYTES', () => {
    expect(unitBatchRows(100_000, big, 4, 117)).toBeNull();
    expect(unitBatchRows(100_000, big, 16, 117)).toBeNull();
    // rows of 2,000 bytes, most of them in TOAST (the heap keeps its 43k pages): a part of 750k rows is 1.4 GiB
    expect(unitBatchRows(100_000, big, 4, 2_000)).toBe(Math.floor(BATCH_BYTES / 2_000));
  });
});
