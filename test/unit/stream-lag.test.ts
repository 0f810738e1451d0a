/** streamLag (pure): lag bytes and seconds as docs/streaming.md defines them, the retained WAL, the warnings. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import type { StreamRow } from '../../src/state/stream.js';
import { streamLag, type SourceSlotFacts } from '../../src/stream/lag.js';

function config(extra = ''): Config {
  const r = parseConfig(
    `version: 1\nname: clinic\nsource:\n  url: postgres://a:pw@127.0.0.1:5432/a\ntarget:\n  url: postgres://b:pw@127.0.0.1:5433/b\n${extra}`,
    'm.yaml',
    {},
  );
  if (!r.config) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

const ROW: StreamRow = {
  slot: 'pgshift_clinic_abcdef',
  publication: 'pgshift_clinic_abcdef',
  insertsPublication: null,
  consistentLsn: '0/1000',
  createdAt: new Date('2025-01-01T10:00:00Z'),
  appliedLsn: '0/5000',
  sourceCommitAt: new Date('2025-01-01T10:05:00Z'),
  appliedAt: new Date('2025-01-01T10:05:01Z'),
  transactions: 3,
  changes: 30,
  status: 'stopped',
  error: null,
};

function facts(over: Partial<SourceSlotFacts> = {}): SourceSlotFacts {
  return {
    exists: true,
    active: false,
    activePid: null,
    restartLsn: '0/4000',
    confirmedFlushLsn: '0/5000',
    currentLsn: '0/5000',
    retainedBytes: 0x1000,
    lagBytes: 0,
    walStatus: 'reserved',
    maxSlotWalKeepSizeMb: null,
    sourceNow: new Date('2025-01-01T10:07:30Z'),
    safeWalSizeBytes: null,
    reader: null,
    ...over,
  };
}

describe('streamLag', () => {
  it('caught up: 0 bytes and 0 seconds, however old the last commit', () => {
    const l = streamLag(config(), ROW, facts());
    expect(l).toMatchObject({ lagBytes: 0, lagSeconds: 0, retainedBytes: 4096, warnings: [], sourceRead: true });
  });

  it('the source wrote past the applied position: the bytes, and the seconds since the last applied commit', () => {
    const l = streamLag(config(), ROW, facts({ currentLsn: '1/5000' }));
    expect(l.lagBytes).toBe(2 ** 32);
    expect(l.lagSeconds).toBe(150);
  });

  it('nothing applied yet: from the consistent point, seconds since the stream was created', () => {
    const row = { ...ROW, appliedLsn: null, sourceCommitAt: null, appliedAt: null, status: 'created' as const };
    const l = streamLag(config(), row, facts({ currentLsn: '0/1800' }));
    expect(l).toMatchObject({ lagBytes: 0x800, lagSeconds: 450, appliedLsn: null });
  });

  it('an applied position past the current LSN reads 0, not a negative lag', () => {
    expect(streamLag(config(), ROW, facts({ currentLsn: '0/4FF0' }))).toMatchObject({ lagBytes: 0, lagSeconds: 0 });
  });

  it('warns past cutover.stream.max_slot_retained, when unreserved, lost, or gone', () => {
    const tight = config('cutover:\n  stream: { max_slot_retained: 1kB }\n');
    expect(streamLag(tight, ROW, facts()).warnings.map((w) => w.code)).toEqual(['STREAM_SLOT_RETAINED']);
    expect(streamLag(tight, ROW, facts()).maxSlotRetainedBytes).toBe(1024);
    expect(streamLag(config(), ROW, facts({ walStatus: 'unreserved' })).warnings.map((w) => w.code)).toEqual([
      'STREAM_SLOT_AT_RISK',
    ]);
    expect(streamLag(config(), ROW, facts({ walStatus: 'lost' })).warnings.map((w) => w.code)).toEqual([
      'STREAM_SLOT_LOST',
    ]);
    const gone = streamLag(config(), ROW, facts({ exists: false, retainedBytes: null, walStatus: null }));
    expect(gone).toMatchObject({ slotExists: false, active: null, retainedBytes: null });
    expect(gone.warnings.map((w) => w.code)).toEqual(['STREAM_SLOT_LOST']);
    expect(gone.warnings[0]?.message).toContain('gone from the source');
  });

  it('max_slot_wal_keep_size in bytes; the source unread: every source figure null, the state kept', () => {
    expect(streamLag(config(), ROW, facts({ maxSlotWalKeepSizeMb: 1024 })).maxSlotWalKeepSizeBytes).toBe(2 ** 30);
    const l = streamLag(config(), ROW, undefined);
    expect(l).toMatchObject({
      sourceRead: false,
      appliedLsn: '0/5000',
      transactions: 3,
      lagBytes: null,
      lagSeconds: null,
      retainedBytes: null,
      slotExists: null,
      warnings: [],
    });
  });
});
