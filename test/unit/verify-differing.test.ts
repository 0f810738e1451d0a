import { describe, expect, it } from 'vitest';
import { differing, type VerifyReport } from '../../src/verify/report.js';

const summary = (o: Partial<VerifyReport['summary']>): VerifyReport['summary'] => ({
  tables: 4,
  tablesWithDifferences: 0,
  rowDifferences: 0,
  changedSinceCopy: 0,
  pendingFinalSync: 0,
  schemaDifferences: 0,
  rowsCompared: 10,
  ms: 1,
  ...o,
});

describe('what a failed verification says differs', () => {
  it('names the large objects when only they differ (a rollback said "0 table(s)")', () => {
    expect(differing(summary({ largeObjectDifferences: 2 }))).toBe(
      '0 table(s), 0 schema object(s) and 2 large object(s)',
    );
  });
  it('leaves them out when none differ', () => {
    expect(differing(summary({ tablesWithDifferences: 1, schemaDifferences: 3 }))).toBe(
      '1 table(s) and 3 schema object(s)',
    );
  });
});
