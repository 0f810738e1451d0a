/**
 * The executor's order among actions that may start (src/apply/priority.ts): the longest chain of work first, and
 * among a table's after-data actions (one rank: the sum of them) the longest of them first.
 */
import { describe, expect, it } from 'vitest';
import { byRank, criticalPathRanks, expectedSeconds, ownSeconds } from '../../src/apply/priority.js';
import type { Action, CopyTableAction, ReadBackAction } from '../../src/plan/model.js';
import { rowMicros } from '../../src/plan/row-cost.js';

const MiB = 1024 * 1024;

const copy = (name: string, rows: number, bytes: number, micros?: number): CopyTableAction => ({
  kind: 'copy_table',
  id: `copy public.${name}`,
  address: `copy public.${name}`,
  dependsOn: [],
  change: 'create',
  reason: '',
  phase: 'data',
  locks: [`table public.${name}`],
  table: { schema: 'public', name },
  columns: ['occurred_at', 'payload'],
  key: null,
  batchSize: 100_000,
  format: 'binary',
  estimatedRows: rows,
  estimatedBytes: bytes,
  ...(micros === undefined ? {} : { rowMicros: micros }),
});

const col = (typeName: string, typeKind = 'b', typeSchema = 'pg_catalog') => ({ typeName, typeKind, typeSchema });

const index = (table: string, name: string): Action =>
  ({
    kind: 'create_object',
    id: `index public.${name}`,
    address: `index public.${name}`,
    dependsOn: [`copy public.${table}`],
    change: 'create',
    reason: '',
    phase: 'post-data',
    locks: [`table public.${table}`],
    objectKind: 'index',
    sql: [`CREATE INDEX ${name} ON public.${table} (x)`],
    definitionHash: 'h',
    lockMode: 'shared',
  }) as Action;

const readBack = (table: string, rows: number, bytes?: number): ReadBackAction => ({
  kind: 'read_back',
  id: `read-back public.${table}`,
  address: `read-back public.${table}`,
  dependsOn: [`copy public.${table}`],
  change: 'update',
  reason: '',
  phase: 'post-data',
  locks: [`table public.${table}`],
  table: { schema: 'public', name: table },
  digest: { columns: [] },
  units: [`copy public.${table}`],
  estimatedRows: rows,
  ...(bytes === undefined ? {} : { estimatedBytes: bytes }),
});

describe('action order', () => {
  it("a wide table's read-back starts before its shorter index builds", () => {
    // gen.sql's audit_log: 750k rows of 1 KiB; its read-back hashes 731 MiB (2.2 s), each index sorts 750k rows
    const actions: Action[] = [
      copy('audit_log', 750_000, 731 * MiB),
      index('audit_log', 'audit_log_actor_idx'),
      index('audit_log', 'audit_log_occurred_at_idx'),
      readBack('audit_log', 750_000, 731 * MiB),
    ];
    const ranks = criticalPathRanks(actions);
    const after = ranks.get('index public.audit_log_actor_idx');
    // one rank for the table's after-data actions: what decides among them is their own time
    expect(ranks.get('read-back public.audit_log')).toBe(after);
    const order = byRank(actions, ranks, ownSeconds(actions)).map((a) => a.id);
    expect(order).toEqual([
      'copy public.audit_log',
      'read-back public.audit_log',
      'index public.audit_log_actor_idx',
      'index public.audit_log_occurred_at_idx',
    ]);
  });

  it('a read-back counts the bytes it hashes; a saved plan without them still ranks by rows', () => {
    const rows = new Map<string, number>();
    const wide = expectedSeconds(readBack('audit_log', 750_000, 731 * MiB), rows);
    const narrow = expectedSeconds(readBack('observations', 750_000, 40 * MiB), rows);
    const old = expectedSeconds(readBack('audit_log', 750_000), rows);
    expect(wide).toBeGreaterThan(2 * narrow);
    expect(old).toBeCloseTo(0.5, 5);
    expect(Number.isFinite(old)).toBe(true);
  });

  it("orders gen.sql's copies as the floor's binary COPY timed them (jsonb rows are dear)", () => {
    const none = new Map<string, number>();
    const t = (name: string, rows: number, mib: number, cols: ReturnType<typeof col>[]): number =>
      expectedSeconds(copy(name, rows, mib * MiB, rowMicros(cols)), none);
    const fixed = (n: number) => Array.from({ length: n }, () => col('int8'));
    const patients = t('patients', 250_000, 130, [
      col('uuid'),
      col('text'),
      col('text'),
      col('date'),
      col('text'),
      col('jsonb'),
      col('text'),
      col('timestamptz'),
    ]);
    const encounters = t('encounters', 1_000_000, 113, [
      ...fixed(4),
      col('numeric'),
      col('encounter_status', 'e', 'public'),
      col('_text'),
    ]);
    const observations = t('observations', 3_000_000, 195, [...fixed(4), col('text')]);
    const audit = t('audit_log', 750_000, 731, [
      col('timestamptz'),
      col('text'),
      col('text'),
      col('int8'),
      col('bytea'),
    ]);
    // measured: audit_log 8.3 s, observations 5.0, patients 3.2, encounters 2.5
    expect(audit).toBeGreaterThan(observations);
    expect(observations).toBeGreaterThan(patients);
    expect(patients).toBeGreaterThan(encounters);
    for (const [got, want] of [
      [audit, 8.3],
      [observations, 5.0],
      [patients, 3.2],
      [encounters, 2.5],
    ] as const) {
      expect(got).toBeGreaterThan(want / 1.5);
      expect(got).toBeLessThan(want * 1.5);
    }
    // a plan saved before rowMicros: the older rows-and-bytes figure
    expect(expectedSeconds(copy('patients', 250_000, 130 * MiB), none)).toBeCloseTo(250_000 / 780_000 + 130 / 185, 5);
  });

  it('equal ranks and equal own times keep the plan order', () => {
    const actions: Action[] = [index('t', 'a_idx'), index('t', 'b_idx'), index('t', 'c_idx')];
    const order = byRank(actions, criticalPathRanks(actions), ownSeconds(actions)).map((a) => a.id);
    expect(order).toEqual(['index public.a_idx', 'index public.b_idx', 'index public.c_idx']);
  });
});
