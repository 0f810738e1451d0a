/**
 * What apply's views compute from the executor's events and the plan: real rates from the start of each action
 * (a copy's first batch is not counted as taking no time), the copies' total, a line per running action with its
 * figures, and the plan's time estimate in its text, markdown and JSON views.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutorEvent } from '../../src/apply/executor.js';
import { logProgress, ProgressState, stepProgress, UnitMeter } from '../../src/cli/render/progress.js';
import {
  DEFAULT_RATES,
  estimatePlan,
  LARGE_OBJECTS_PER_SECOND,
  planJson,
  renderPlanMarkdown,
  renderPlanText,
} from '../../src/cli/render/plan.js';
import { formatSeconds } from '../../src/cli/render/time.js';
import { createLogger, detailLevel, setLogger } from '../../src/log/logger.js';
import type { Action, CopyTableAction, Plan } from '../../src/plan/model.js';

const copy = (name: string, rows: number, bytes: number, change: Action['change'] = 'create'): CopyTableAction => ({
  kind: 'copy_table',
  id: `copy public.${name}`,
  address: `copy public.${name}`,
  dependsOn: [`table public.${name}`],
  change,
  reason: `~${rows.toLocaleString('en-US')} rows`,
  phase: 'data',
  locks: [`table public.${name}`],
  table: { schema: 'public', name },
  columns: ['id'],
  key: [{ name: 'id', type: 'bigint' }],
  batchSize: 10_000,
  format: 'binary',
  estimatedRows: rows,
  estimatedBytes: bytes,
});

const index: Action = {
  kind: 'create_object',
  id: 'index public.big_b',
  address: 'index public.big_b',
  dependsOn: ['copy public.big'],
  change: 'create',
  reason: 'not on the target',
  phase: 'post-data',
  locks: ['table public.big'],
  objectKind: 'index',
  sql: ['CREATE INDEX big_b ON public.big (b)'],
  definitionHash: 'h',
} as Action;

const readBackOfBig: Action = {
  kind: 'read_back',
  id: 'read-back public.big',
  address: 'read-back public.big',
  dependsOn: ['copy public.big'],
  change: 'update',
  reason: 'the copy digest against the target, once copied',
  phase: 'post-data',
  locks: ['table public.big'],
  table: { schema: 'public', name: 'big' },
  digest: { columns: [] },
  units: ['copy public.big'],
  estimatedRows: 400_000,
};

function planOf(actions: Action[]): Plan {
  return {
    formatVersion: 1,
    migration: 'clinic',
    source: 'postgres://app:***@127.0.0.1:5432/clinic',
    target: 'postgres://postgres:***@127.0.0.1:5433/postgres',
    configHash: 'c',
    sourceFingerprint: 'f'.repeat(64),
    targetFingerprint: 'e'.repeat(64),
    stateSerial: '0',
    actions,
    findings: [],
    summary: { add: actions.length, resume: 0, change: 0, destroy: 0, unchanged: 0 },
  };
}

function clock(): { now: () => number; at(ms: number): void } {
  let t = 1_000_000;
  const start = t;
  return { now: () => t, at: (ms) => void (t = start + ms) };
}

function captureLog(): { lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _e, cb): void {
      text += chunk.toString();
      cb();
    },
  });
  setLogger(createLogger({ level: 'info', format: 'json', destination: out }));
  return {
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

afterEach(() => setLogger(createLogger({ level: 'silent' })));

describe('rates', () => {
  it('count from the start of the action, so the first batch has a real rate', () => {
    const c = clock();
    const m = new UnitMeter(100_000, c.now);
    c.at(250);
    m.update(20_000, 1_000_000);
    expect(m.rate).toBe(80_000);
    expect(m.describe()).toBe('20,000 rows, 80,000 rows/s, 20%, ETA 1s');
  });

  it('non-TTY lines: `copy progress` carries the rate since the copy started, never 0 rows/s after rows moved', () => {
    const log = captureLog();
    const c = clock();
    const big = copy('big', 100_000, 8_000_000);
    const view = logProgress([big], 3000, c.now);
    const events: ExecutorEvent[] = [
      { type: 'start', total: 1, actions: [big] },
      { type: 'action-start', action: big },
    ];
    for (const e of events) view.onEvent(e);
    c.at(400); // the first batch commits 0.4 s after the copy started
    view.onEvent({ type: 'action-progress', action: big, rows: 20_000, bytes: 1_600_000 });
    c.at(3500);
    view.onEvent({ type: 'action-progress', action: big, rows: 60_000, bytes: 4_800_000 });
    const lines = log.lines().filter((l) => String(l.msg).startsWith('copy progress'));
    expect(lines.map((l) => [l.msg, l.rowsPerSecond])).toEqual([
      ['copy progress: 20,000 rows, 50,000 rows/s, 20%, ETA 2s', 50_000],
      ['copy progress: 60,000 rows, 17,143 rows/s, 60%, ETA 2s', 17_143],
    ]);
    for (const l of lines) expect(String(l.msg)).not.toMatch(/ 0 rows\/s/);
  });

  it('non-TTY lines: an index build and the verification log their figures too', () => {
    const log = captureLog();
    const c = clock();
    const verify: Action = {
      kind: 'verify',
      id: 'verify',
      address: 'verify',
      dependsOn: [],
      change: 'update',
      reason: 'row counts',
      phase: 'post-data',
      locks: [],
      checksums: 'full',
    };
    const view = logProgress([index, verify], 3000, c.now);
    view.onEvent({ type: 'action-start', action: index });
    view.onEvent({ type: 'action-start', action: verify });
    c.at(2000);
    view.onEvent({
      type: 'action-measure',
      action: index,
      measure: {
        kind: 'session',
        phase: 'building index: scanning table',
        done: 12,
        total: 48,
        unit: 'blocks',
        waiting: null,
      },
    });
    view.onEvent({
      type: 'action-measure',
      action: verify,
      measure: { kind: 'verify', rowsChecked: 50_000, rowsTotal: 200_000 },
    });
    expect(log.lines().map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'progress: index public.big_b (2s): building index: scanning table, 25% (12 of 48 blocks)',
        'progress: verify (2s): 50,000 rows checked, 25,000 rows/s, 25%, ETA 6s',
      ]),
    );
  });
});

describe('the terminal view state', () => {
  it('draws a copy with its read-back, a build waiting for a lock, and the total with rows, bytes and ETA', () => {
    const c = clock();
    const big = copy('big', 1_000_000, 80_000_000);
    const small = copy('small', 1_000, 80_000);
    const s = new ProgressState([big, small, index, readBackOfBig], c.now);
    s.onEvent({ type: 'action-start', action: big });
    s.onEvent({ type: 'action-start', action: small });
    expect(s.total(false)).toBe('total: 0 of ~1,001,000 rows, 0%, 0 B, 0 rows/s');
    c.at(1000);
    s.onEvent({ type: 'action-progress', action: small, rows: 1_000, bytes: 80_000 });
    s.onEvent({ type: 'action-done', action: small, ms: 1000 });
    c.at(2000);
    s.onEvent({ type: 'action-progress', action: big, rows: 400_000, bytes: 32 * 1024 * 1024 });
    const line = s.line(s.running('data')[0] as NonNullable<ReturnType<ProgressState['get']>>);
    expect(line).toBe('copy public.big (2s): 400,000 rows, 200,000 rows/s, 40%, ETA 3s');
    expect(s.total(false)).toBe('total: 401,000 of ~1,001,000 rows, 40%, 32.1 MiB, 200,500 rows/s, ETA 3s');
    s.onEvent({ type: 'action-start', action: index });
    c.at(3000);
    s.onEvent({
      type: 'action-measure',
      action: index,
      measure: { kind: 'session', phase: null, done: 0, total: 0, unit: null, waiting: 'a lock (relation)' },
    });
    expect(s.running('post-data').map((r) => s.line(r))).toEqual([
      'index public.big_b (1s): waiting for a lock (relation)',
    ]);
    c.at(5000);
    s.onEvent({ type: 'action-done', action: big, ms: 5000 });
    c.at(9000);
    expect(s.total(true)).toBe('total: 401,000 rows, 32.1 MiB in 5s');
    // its read-back: its own line while it hashes, then the copy's line says so
    const bigRun = s.get(big.id) as NonNullable<ReturnType<ProgressState['get']>>;
    expect(s.ended(bigRun)).toBe('copy public.big: 400,000 rows, 32.0 MiB in 5s');
    s.onEvent({ type: 'action-start', action: readBackOfBig });
    c.at(10_000);
    s.onEvent({
      type: 'action-measure',
      action: readBackOfBig,
      measure: { kind: 'read-back', rows: 150_000, rowsTotal: 400_000 },
    });
    expect(s.running('post-data').map((r) => s.line(r))).toContain(
      'read-back public.big (1s): verifying 150,000 of 400,000 rows',
    );
    s.onEvent({ type: 'action-done', action: readBackOfBig, ms: 1000 });
    expect(s.ended(bigRun)).toBe('copy public.big: 400,000 rows, 32.0 MiB in 5s, read back');
  });
});

describe('the plan time estimate', () => {
  const plan = planOf([copy('big', 3_200_000, 100 * 1024 * 1024), copy('wide', 1_000, 500 * 1024 * 1024), index]);

  it('is the slower of rows and bytes at the stated default rates, per copy and in total', () => {
    const e = estimatePlan(plan);
    expect(e?.copies.map((x) => [x.address, x.seconds])).toEqual([
      ['copy public.big', 3_200_000 / DEFAULT_RATES.rowsPerSecond],
      ['copy public.wide', 5],
    ]);
    expect(e?.totalSeconds).toBe(25);
    expect(estimatePlan(planOf([index]))).toBeNull();
  });

  it('shows in the text view per copy and in total, saying where the rate comes from', () => {
    const text = renderPlanText(plan);
    expect(text).toMatch(/\+ copy public\.big\s+~3,200,000 rows, ~20s\n/);
    expect(text).toMatch(/\+ copy public\.wide\s+~1,000 rows, ~5s\n/);
    expect(text).toContain('Estimated time: ~25s for the apply (');
    expect(text).toContain('160,000 rows/s or its bytes at 100 MiB/s');
    expect(text).toContain('a stated default rate');
  });

  it('shows in the markdown view', () => {
    const md = renderPlanMarkdown(plan);
    expect(md).toContain('+ copy public.big  (~3,200,000 rows, ~20s)');
    expect(md).toContain('- estimated time: ~25s for the apply (');
  });

  it('is in the JSON view (not in the saved plan)', () => {
    const j = planJson(plan) as Plan & { estimate?: { totalSeconds: number; copies: { seconds: number }[] } };
    expect(j.estimate?.totalSeconds).toBe(25);
    expect(j.estimate?.copies.map((c) => c.seconds)).toEqual([20, 5]);
    expect(j.actions).toBe(plan.actions);
    expect('estimate' in plan).toBe(false);
  });

  it('counts the large objects: per object and by their bytes', () => {
    const lo: Action = {
      kind: 'large_objects',
      id: 'large_objects',
      address: 'large_objects',
      dependsOn: [],
      change: 'create',
      reason: '12,000 objects, ~200.0 MiB',
      phase: 'data',
      locks: ['large_objects'],
      objects: 12_000,
      estimatedBytes: 200 * 1024 * 1024,
      resumeAfter: null,
      owners: {},
      grantees: {},
    };
    const e = estimatePlan(planOf([copy('wide', 1_000, 500 * 1024 * 1024), lo]));
    // 12,000 objects at 6,000/s and 200 MiB at 100 MiB/s
    expect(e?.copies.find((c) => c.address === 'large_objects')?.seconds).toBe(12_000 / LARGE_OBJECTS_PER_SECOND + 2);
    expect(e?.totalSeconds).toBe(5 + 4);
    expect(renderPlanText(planOf([lo]))).toContain('+ large_objects: 12,000 objects, ~200.0 MiB, ~4s');
    expect(estimatePlan(planOf([lo]))?.totalSeconds).toBe(4);
    expect(e?.basis).toMatch(/^large objects at 6,000 objects\/s plus their bytes at 100 MiB\/s; each copy's rows/);
    expect(estimatePlan(plan)?.basis).toMatch(/^each copy's rows/);
  });

  it('leaves a resumed copy its own ETA', () => {
    const text = renderPlanText(planOf([copy('big', 3_200_000, 1, 'resume')]));
    expect(text).toMatch(/~ copy public\.big\s+~3,200,000 rows\n/);
  });

  it('formats durations as a migration window reads them', () => {
    expect([formatSeconds(7.4), formatSeconds(125), formatSeconds(3725)]).toEqual(['7s', '2m 05s', '1h 02m']);
  });
});

describe('the log of a terminal', () => {
  it('keeps run details (apply started) out of the pretty log and in the JSON log', () => {
    setLogger(
      createLogger({ level: 'info', format: 'pretty', destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
    );
    expect(detailLevel()).toBe('debug');
    setLogger(
      createLogger({ level: 'info', format: 'json', destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
    );
    expect(detailLevel()).toBe('info');
  });
});

describe('cutover steps', () => {
  it('print each ended step with its time (without a terminal)', async () => {
    const out: string[] = [];
    const steps = stepProgress(false, (t) => out.push(t));
    steps.onStep('catch-up', 'start');
    await new Promise((r) => setTimeout(r, 20));
    steps.onStep('catch-up', 'done', '12 rows written');
    steps.onStep('switch', 'start');
    steps.onStep('switch', 'done');
    steps.stop();
    expect(out).toEqual(['  > catch-up: 12 rows written (0s)', '  > switch: done (0s)']);
  });
});
