/** streamPlan (pure): the strategy and its why, the stream's actions, and the slot findings from its status. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { streamPlan, type StreamFacts, type StreamPlanInput } from '../../src/plan/stream-plan.js';
import type { SlotStatus } from '../../src/stream/slot-status.js';

function config(extra = ''): Config {
  const r = parseConfig(
    `version: 1\nname: clinic\nsource:\n  url: postgres://a:pw@127.0.0.1:5432/a\ntarget:\n  url: postgres://b:pw@127.0.0.1:5433/b\n${extra}`,
    'm.yaml',
    {},
  );
  if (!r.config) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

const READY: StreamFacts['readiness'] = {
  ok: true,
  reasons: [],
  tablesNeedingIdentity: [
    {
      schema: 'public',
      name: 'log_2024',
      identity: 'd',
      statement: 'ALTER TABLE "public"."log_2024" REPLICA IDENTITY FULL',
    },
  ],
};
const SLOT: SlotStatus = {
  exists: true,
  active: false,
  activePid: null,
  restartLsn: '0/100',
  confirmedFlushLsn: '0/100',
  currentLsn: '0/200',
  retainedBytes: 256,
  lagBytes: 256,
  walStatus: 'reserved',
  maxSlotWalKeepSizeMb: null,
};

function input(c: Config, facts: StreamFacts | undefined, over: Partial<StreamPlanInput> = {}): StreamPlanInput {
  return {
    config: c,
    facts,
    published: [
      { schema: 'public', name: 'log' },
      { schema: 'public', name: 'patients' },
    ],
    parentOf: new Map([['public.log_2024', { schema: 'public', name: 'log' }]]),
    sourceDatabase: 'clinic',
    copiesStarted: false,
    ...over,
  };
}

describe('streamPlan', () => {
  it('auto on a ready source: one create_stream, the keyless partition tree published for inserts only', () => {
    const p = streamPlan(input(config(), { readiness: READY, recorded: undefined, slot: undefined }));
    expect(p.strategy).toEqual({
      strategy: 'stream',
      why: 'cutover.strategy omitted and the source allows a change stream',
    });
    expect(p.actions.map((a) => a.kind)).toEqual(['create_stream']);
    const create = p.actions[0];
    expect(create?.kind === 'create_stream' && create.tables).toEqual([
      { schema: 'public', name: 'log', mode: 'inserts' },
      { schema: 'public', name: 'patients', mode: 'all' },
    ]);
    expect(p.findings.map((f) => `${f.code} ${f.address}`)).toEqual([
      'STREAM_TABLE_WITHOUT_IDENTITY table public.log_2024',
    ]);
  });

  it('replica_identity_full: a set_replica_identity action per table before create_stream, everything published', () => {
    const p = streamPlan(
      input(config('cutover:\n  stream: { replica_identity_full: true }\n'), {
        readiness: READY,
        recorded: undefined,
        slot: undefined,
      }),
    );
    expect(p.actions.map((a) => a.id)).toEqual(['replica identity public.log_2024', 'stream']);
    expect(p.actions[1]?.dependsOn).toEqual(['replica identity public.log_2024']);
    const create = p.actions[1];
    expect(create?.kind === 'create_stream' && create.tables.every((t) => t.mode === 'all')).toBe(true);
  });

  it('an existing slot: no action; unreserved warns, lost and gone block, retained past the limit warns', () => {
    const recorded = { slot: 'pgshift_clinic_abcdef', publication: 'pgshift_clinic_abcdef' };
    const codes = (slot: SlotStatus | undefined, extra = ''): string[] =>
      streamPlan(input(config(extra), { readiness: READY, recorded, slot })).findings.map(
        (f) => `${f.severity} ${f.code}`,
      );
    expect(codes(SLOT)).toEqual(['warning STREAM_TABLE_WITHOUT_IDENTITY']);
    expect(codes({ ...SLOT, walStatus: 'unreserved' })).toContain('warning STREAM_SLOT_AT_RISK');
    expect(codes({ ...SLOT, walStatus: 'lost' })).toContain('blocker STREAM_SLOT_LOST');
    expect(codes({ ...SLOT, exists: false })).toContain('blocker STREAM_SLOT_LOST');
    expect(codes(SLOT, 'cutover:\n  stream: { max_slot_retained: 100B }\n')).toContain('warning STREAM_SLOT_RETAINED');
    const p = streamPlan(input(config(), { readiness: READY, recorded, slot: SLOT }));
    expect(p.actions).toEqual([]);
    expect(p.strategy.slot).toEqual({
      name: recorded.slot,
      retainedBytes: 256,
      walStatus: 'reserved',
      maxSlotWalKeepSizeMb: null,
    });
  });

  it('freeze is taken as said; an explicit stream on a source that is not ready blocks with the reasons', () => {
    expect(streamPlan(input(config('cutover: { strategy: freeze }\n'), undefined))).toEqual({
      strategy: { strategy: 'freeze', why: 'cutover.strategy: freeze' },
      actions: [],
      findings: [],
    });
    expect(streamPlan(input(config('copy: { data: false }\n'), undefined)).strategy).toEqual({
      strategy: 'freeze',
      why: 'copy.data: false (no rows are copied)',
    });
    const notReady = { ...READY, ok: false, reasons: ['wal_level is replica, logical is needed: ...'] };
    const explicit = streamPlan(
      input(config('cutover: { strategy: stream }\n'), { readiness: notReady, recorded: undefined, slot: undefined }),
    );
    expect(explicit.findings).toEqual([
      expect.objectContaining({
        code: 'STREAM_NOT_AVAILABLE',
        severity: 'blocker',
        message: expect.stringContaining('wal_level is replica'),
      }),
    ]);
    const auto = streamPlan(input(config(), { readiness: notReady, recorded: undefined, slot: undefined }));
    expect(auto.strategy.strategy).toBe('freeze');
    expect(auto.findings[0]?.severity).toBe('warning');
  });
});
