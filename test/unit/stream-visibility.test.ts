/**
 * widenXid and visible() against pg_visible_in_snapshot's rules: below xmin visible, at or above xmax not, in xip
 * not, else visible; 32-bit xids widened across an epoch wrap, near 2^32, with an empty xip.
 */
import { describe, expect, it } from 'vitest';
import { parseSnapshot, visible, visibleInSnapshot, widenXid } from '../../src/stream/visibility.js';

const E = 1n << 32n;

describe('parseSnapshot', () => {
  it('reads xmin:xmax:xip with and without in-progress xids', () => {
    expect(parseSnapshot('10:20:12,15')).toEqual({ xmin: 10n, xmax: 20n, xip: [12n, 15n] });
    expect(parseSnapshot('10:10:')).toEqual({ xmin: 10n, xmax: 10n, xip: [] });
    expect(() => parseSnapshot('10:20')).toThrow();
  });
});

describe('widenXid', () => {
  it('takes the epoch of the reference in the same epoch', () => {
    expect(widenXid(1000, 5n * E + 2000n)).toBe(5n * E + 1000n);
    expect(widenXid(3000, 5n * E + 2000n)).toBe(5n * E + 3000n);
  });
  it('goes back one epoch for an xid near 2^32 just before a wrap', () => {
    expect(widenXid(0xfffffff0, 5n * E + 10n)).toBe(4n * E + 0xfffffff0n);
  });
  it('goes forward one epoch for a small xid just after a wrap', () => {
    expect(widenXid(5, 4n * E + 0xfffffff0n)).toBe(5n * E + 5n);
  });
  it('stays in epoch 0 (never negative)', () => {
    expect(widenXid(0xfffffff0, 100n)).toBe(0xfffffff0n);
  });
});

describe('visible', () => {
  const snap = '100:200:150,160';
  it('follows pg_visible_in_snapshot', () => {
    expect(visible(99, snap)).toBe(true); // < xmin
    expect(visible(100, snap)).toBe(true); // = xmin, not in xip
    expect(visible(150, snap)).toBe(false); // in progress
    expect(visible(151, snap)).toBe(true);
    expect(visible(199, snap)).toBe(true);
    expect(visible(200, snap)).toBe(false); // = xmax
    expect(visible(201, snap)).toBe(false);
  });
  it('handles an empty xip and a full xid8', () => {
    expect(visible(7n, '7:7:')).toBe(false);
    expect(visible(6n, '7:7:')).toBe(true);
  });
  it('widens across the epoch of the snapshot', () => {
    const s = `${E - 10n}:${E + 10n}:${E + 2n}`; // xmin in epoch 0, xmax in epoch 1
    expect(visible(0xfffffff8, s)).toBe(true); // epoch 0, between xmin and xmax, not in xip
    expect(visible(0xfffffff0, s)).toBe(true); // epoch 0, below xmin
    expect(visible(2, s)).toBe(false); // epoch 1, in xip
    expect(visible(3, s)).toBe(true); // epoch 1, below xmax
    expect(visible(10, s)).toBe(false); // epoch 1, = xmax
    expect(visibleInSnapshot(E + 3n, parseSnapshot(s))).toBe(true);
  });
});
