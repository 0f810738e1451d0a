/** The stream's readiness reasons from the source's settings: each names the setting and its fix. */
import { describe, expect, it } from 'vitest';
import { readinessReasons, type ReadinessFacts } from '../../src/stream/readiness.js';
import { streamNames } from '../../src/stream/names.js';

const READY: ReadinessFacts = {
  serverVersionNum: 150018,
  walLevel: 'logical',
  role: 'app',
  canReplicate: true,
  maxReplicationSlots: 10,
  slotsUsed: 2,
  maxWalSenders: 10,
  walSendersUsed: 1,
  ownSlotExists: false,
};

describe('readinessReasons', () => {
  it('a logical source with a replication role and free slots and senders is ready', () => {
    expect(readinessReasons(READY)).toEqual([]);
  });

  it('wal_level replica needs wal_level = logical and a restart', () => {
    const [r, ...more] = readinessReasons({ ...READY, walLevel: 'replica' });
    expect(more).toEqual([]);
    expect(r).toMatch(/wal_level is replica/);
    expect(r).toMatch(/wal_level = logical/);
    expect(r).toMatch(/restart/);
  });

  it('a role without REPLICATION gets the ALTER ROLE statement', () => {
    expect(readinessReasons({ ...READY, canReplicate: false })).toEqual([
      expect.stringContaining('ALTER ROLE app REPLICATION'),
    ]);
  });

  it('exhausted slots count only when pgshift has no slot of its own yet', () => {
    const full = { ...READY, slotsUsed: 10 };
    expect(readinessReasons(full)).toEqual([
      expect.stringMatching(/no free replication slot.*max_replication_slots = 10/),
    ]);
    expect(readinessReasons({ ...full, ownSlotExists: true })).toEqual([]);
  });

  it('exhausted WAL senders and a source older than 14 are reasons too', () => {
    const reasons = readinessReasons({ ...READY, walSendersUsed: 10, serverVersionNum: 130011 });
    expect(reasons).toEqual([
      expect.stringMatching(/no free WAL sender.*max_wal_senders = 10/),
      expect.stringMatching(/PostgreSQL 13.*14 or later.*strategy: freeze/),
    ]);
  });
});

describe('readinessReasons: ownership', () => {
  it('tables the role does not own are a reason (CREATE PUBLICATION needs ownership), listed up to five', () => {
    const notOwned = ['a.t1', 'a.t2', 'a.t3', 'a.t4', 'a.t5', 'a.t6', 'a.t7'];
    expect(readinessReasons({ ...READY, notOwned })).toEqual([
      "role app does not own 7 table(s) in scope (a.t1, a.t2, a.t3, a.t4, a.t5 and 2 more): CREATE PUBLICATION needs ownership: connect to the source as the tables' owner (or a superuser)",
    ]);
    expect(readinessReasons({ ...READY, notOwned: [] })).toEqual([]);
  });
});

describe('streamNames', () => {
  it('keeps names within 63 bytes whatever the migration is called', () => {
    for (const name of ['', 'a', 'Clinic Prod', 'ü'.repeat(100), 'x_'.repeat(60)]) {
      const n = streamNames(name);
      expect(Buffer.byteLength(n.insertsPublication)).toBeLessThanOrEqual(63);
      expect(n.slot).toMatch(/^pgshift_[a-z0-9]+(_[a-z0-9]+)*_[0-9a-f]{6}$/);
    }
  });
});
