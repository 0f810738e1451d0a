import { describe, expect, it } from 'vitest';
import { partRange, quantiles } from '../../src/copy/split.js';
import { splitParts } from '../../src/plan/copy-actions.js';
import { parsePart, partAddress, tableUnit } from '../../src/state/unit-names.js';
import { byTable } from '../../src/cli/render/status.js';

const same = (a: readonly string[], b: readonly string[]): boolean => a.join('\0') === b.join('\0');

describe('key ranges of a split table', () => {
  it('cuts a sorted sample at its quantiles, without repeats', () => {
    const sorted = Array.from({ length: 100 }, (_v, i) => [String(i).padStart(3, '0')]);
    expect(quantiles(sorted, 4, same)).toEqual([['025'], ['050'], ['075']]);
    // few distinct keys: fewer cuts, never the same one twice
    expect(quantiles([['a'], ['a'], ['a'], ['b']], 4, same)).toEqual([['a'], ['b']]);
    expect(quantiles([], 4, same)).toEqual([]);
  });

  it('gives every part (lower, upper], the first and last open, parts past the cuts empty', () => {
    const split = { bounds: [['10'], ['20']] };
    expect(partRange(split, 1)).toEqual({ lower: null, upper: ['10'], empty: false });
    expect(partRange(split, 2)).toEqual({ lower: ['10'], upper: ['20'], empty: false });
    expect(partRange(split, 3)).toEqual({ lower: ['20'], upper: null, empty: false });
    expect(partRange(split, 4)).toEqual({ lower: null, upper: null, empty: true });
    expect(partRange({ bounds: [] }, 1)).toEqual({ lower: null, upper: null, empty: false });
  });

  it('covers every key exactly once (integers 0..999 cut at sampled bounds)', () => {
    const keys = Array.from({ length: 1000 }, (_v, i) => i);
    const bounds = quantiles(
      keys.filter((k) => k % 7 === 0).map((k) => [String(k)]),
      5,
      same,
    );
    const inRange = (k: number, i: number): boolean => {
      const r = partRange({ bounds }, i);
      if (r.empty) return false;
      return (r.lower === null || k > Number(r.lower[0])) && (r.upper === null || k <= Number(r.upper[0]));
    };
    for (const k of keys) expect([1, 2, 3, 4, 5].filter((i) => inRange(k, i)).length).toBe(1);
  });

  it('splits by size: none up to the threshold or without a key, at least copy.parallel parts, at most 64', () => {
    const c = (threshold: number | null, parallel = 4) => ({
      copy: { batchSize: 1, parallel, data: true, splitTablesLargerThan: threshold, leaseMs: 30_000 },
    });
    expect(splitParts(c(1000), { estimatedBytes: 1000 }, true)).toBeUndefined();
    expect(splitParts(c(1000), { estimatedBytes: 5000 }, false)).toBeUndefined();
    expect(splitParts(c(null), { estimatedBytes: 5000 }, true)).toBeUndefined();
    expect(splitParts(c(1000), { estimatedBytes: 1001 }, true)).toBe(4);
    expect(splitParts(c(1000, 1), { estimatedBytes: 1001 }, true)).toBe(2);
    expect(splitParts(c(1000), { estimatedBytes: 10_500 }, true)).toBe(11);
    expect(splitParts(c(1), { estimatedBytes: 10_000 }, true)).toBe(64);
  });

  it('names parts as units and back', () => {
    const u = partAddress({ schema: 'a.b', name: 'we"ird [1/2]' }, 3, 8);
    expect(u).toBe('copy a.b.we"ird [1/2] [3/8]');
    expect(parsePart(u)).toEqual({ index: 3, of: 8 });
    expect(tableUnit(u)).toBe('copy a.b.we"ird [1/2]');
    expect(parsePart('copy public.x')).toBeUndefined();
  });
});

describe('status by table', () => {
  const row = (unit: string, status: string, rows: number) => ({
    unit,
    tableSchema: 'public',
    tableName: 'obs',
    status,
    rowsCopied: rows,
    bytesCopied: rows * 10,
    error: null,
    seconds: 1,
  });
  it("sums a split table's parts into one line, its status the least finished of theirs", () => {
    const out = byTable([
      row('copy public.obs [1/3]', 'done', 100),
      row('copy public.obs [2/3]', 'running', 40),
      row('copy public.obs [3/3]', 'interrupted', 5),
      { ...row('copy public.pat', 'done', 7), tableName: 'pat' },
    ]);
    expect(out.map((r) => [r.unit, r.status, r.rowsCopied, r.parts])).toEqual([
      ['copy public.obs', 'running', 145, { done: 1, of: 3 }],
      ['copy public.pat', 'done', 7, undefined],
    ]);
    expect(byTable([row('copy public.obs [1/2]', 'done', 1)])[0]).toMatchObject({ status: 'pending' });
    expect(
      byTable([row('copy public.obs [1/2]', 'done', 1), row('copy public.obs [2/2]', 'done', 1)])[0],
    ).toMatchObject({ status: 'done', rowsCopied: 2 });
  });
});
