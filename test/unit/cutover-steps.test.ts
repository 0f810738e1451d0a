/**
 * The step model of cutover and rollback: the ordered step lists, what a resumed run skips (by the steps its record
 * shows finished, never by an index), and the plan drawn from the same lists (what it lists is what runs).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import type { MigratedSet } from '../../src/cutover/context.js';
import { cutoverNotes, planOf, rollbackNotes } from '../../src/cutover/plan.js';
import type { CutoverRow } from '../../src/state/cutover.js';
import { rollbackSteps } from '../../src/cutover/rollback-steps/index.js';
import { pendingSteps, runSteps, type Step, type StepContext } from '../../src/cutover/step.js';
import { cutoverSteps } from '../../src/cutover/steps/index.js';

function config(extra = ''): Config {
  const r = parseConfig(
    `version: 1\nname: clinic\nsource:\n  url: postgres://app:pw-src@127.0.0.1:5432/clinic\ntarget:\n  url: postgres://postgres:pw-tgt@127.0.0.1:5433/postgres\n${extra}`,
    'migration.yaml',
    {},
  );
  if (!r.config) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

const withSwitch = config(`cutover:
  switch:
    env_file: /srv/app/.env
    variable: DATABASE_URL
    value: postgres://app:pw-new@db.example.com:5432/app
    command: systemctl reload app
`);
const noSwitch = config();

const set: MigratedSet = {
  relations: [{ schema: 'public', name: 'patients' }],
  targetRelations: [{ schema: 'public', name: 'patients' }],
  tables: [],
  pairs: [],
  sequences: [],
};

function record(steps: readonly string[], extra: Partial<CutoverRow> = {}): CutoverRow {
  return {
    id: 'c1',
    direction: 'cutover',
    cutoverId: null,
    runId: 'r1',
    status: 'running',
    step: steps[steps.length - 1] ?? 'started',
    operator: 'op',
    host: 'h',
    startedAt: new Date(),
    frozenAt: null,
    switchedAt: null,
    finishedAt: null,
    freezeMs: null,
    maxFreezeMs: 1000,
    envFile: null,
    variable: null,
    backupFile: null,
    oldValueSha256: null,
    newValueRedacted: null,
    steps: steps.map((step) => ({ step, at: '', ms: 0, detail: '' })),
    counts: {},
    error: null,
    ...extra,
  };
}

const planned = (c: Config, resume?: CutoverRow): string[] =>
  planOf(cutoverSteps(c), { config: c, set, id: 'c1', resume, notes: cutoverNotes(c) }).steps.map((s) => s.step);
const plannedBack = (c: Config, resume?: CutoverRow): string[] =>
  planOf(rollbackSteps(c), { config: c, set, id: 'r1', resume, notes: rollbackNotes([]) }).steps.map((s) => s.step);

describe('cutover steps', () => {
  it('run in the recorded order; the plan lists each with its own title and detail, secrets redacted', () => {
    expect(cutoverSteps(withSwitch).map((s) => s.name)).toEqual([
      'health',
      'catch-up',
      'freeze',
      'final-sync',
      'sequences',
      'verify',
      'switching',
      'command',
      'freeze-ended',
      'health-after',
    ]);
    const plan = planOf(cutoverSteps(withSwitch), {
      config: withSwitch,
      set,
      id: 'c1',
      resume: undefined,
      notes: cutoverNotes(withSwitch),
    });
    expect(plan.steps.map((s) => s.step)).toEqual([
      'health',
      'catch-up',
      'freeze',
      'final-sync',
      'sequences',
      'verify',
      'switching',
      'command',
      'health-after',
    ]);
    expect(plan.steps.find((s) => s.step === 'switching')).toMatchObject({ title: 'switch DATABASE_URL' });
    expect(plan.steps.find((s) => s.step === 'command')?.detail).toBe('systemctl reload app');
    expect(JSON.stringify(plan)).not.toContain('pw-new');
    expect(plan.resumeFrom).toBeNull();
  });

  it('without cutover.switch: no health checks, no env file, the switch point is no plan line', () => {
    expect(cutoverSteps(noSwitch).map((s) => s.name)).toEqual([
      'catch-up',
      'freeze',
      'final-sync',
      'sequences',
      'verify',
      'switched',
      'freeze-ended',
    ]);
    expect(planned(noSwitch)).toEqual(['catch-up', 'freeze', 'final-sync', 'sequences', 'verify']);
    expect(
      planOf(cutoverSteps(noSwitch), {
        config: noSwitch,
        set,
        id: 'c1',
        resume: undefined,
        notes: cutoverNotes(noSwitch),
      }).notes.join(' '),
    ).toContain('No cutover.switch');
  });

  it('a resume skips what its record shows finished; the steps inside the freeze run again until the verification is recorded', () => {
    expect(planned(withSwitch, record(['health']))).toEqual([
      'catch-up',
      'freeze',
      'final-sync',
      'sequences',
      'verify',
      'switching',
      'command',
      'health-after',
    ]);
    expect(planned(withSwitch, record(['health', 'catch-up', 'freeze', 'final-sync', 'sequences']))).toEqual([
      'final-sync',
      'sequences',
      'verify',
      'switching',
      'command',
      'health-after',
    ]);
    expect(planned(withSwitch, record(['health', 'catch-up', 'freeze', 'final-sync', 'sequences', 'verify']))).toEqual([
      'switching',
      'command',
      'health-after',
    ]);
    // killed after the switch was recorded but before its step: the switch runs again (it finds the file switched)
    expect(
      planned(
        withSwitch,
        record(['health', 'catch-up', 'freeze', 'final-sync', 'sequences', 'verify'], { switchedAt: new Date() }),
      ),
    ).toEqual(['switching', 'command', 'health-after']);
    expect(
      planned(
        withSwitch,
        record(['health', 'catch-up', 'freeze', 'final-sync', 'sequences', 'verify', 'switching', 'command']),
      ),
    ).toEqual(['health-after']);
    expect(
      planOf(cutoverSteps(withSwitch), {
        config: withSwitch,
        set,
        id: 'c1',
        resume: record(['health', 'catch-up']),
        notes: [],
      }).resumeFrom,
    ).toBe('catch-up');
  });

  it('without a switch, the switch point is done when the record holds switched_at; the freeze length is always recorded', () => {
    const steps = cutoverSteps(noSwitch);
    const done = record(['catch-up', 'freeze', 'final-sync', 'sequences', 'verify']);
    expect(pendingSteps(steps, done).map((s) => s.name)).toEqual(['switched', 'freeze-ended']);
    expect(pendingSteps(steps, { ...done, switchedAt: new Date() }).map((s) => s.name)).toEqual(['freeze-ended']);
  });
});

describe('rollback steps', () => {
  it('run in order, skipping what the record shows finished (the carry-back again until verified)', () => {
    const r = (steps: string[]): CutoverRow => record(steps, { direction: 'rollback' });
    expect(plannedBack(withSwitch)).toEqual([
      'catch-up',
      'freeze-target',
      'carry-back',
      'sequences',
      'verify',
      'unfreeze-source',
      'switching',
      'command',
    ]);
    expect(plannedBack(noSwitch)).toEqual([
      'catch-up',
      'freeze-target',
      'carry-back',
      'sequences',
      'verify',
      'unfreeze-source',
    ]);
    expect(plannedBack(withSwitch, r(['catch-up', 'freeze-target', 'carry-back']))).toEqual([
      'carry-back',
      'sequences',
      'verify',
      'unfreeze-source',
      'switching',
      'command',
    ]);
    expect(
      plannedBack(withSwitch, r(['catch-up', 'freeze-target', 'carry-back', 'sequences', 'verify', 'unfreeze-source'])),
    ).toEqual(['switching', 'command']);
  });
});

describe('runSteps', () => {
  it('walks the list in order and runs only the steps the record does not show done', async () => {
    const ran: string[] = [];
    const step = (name: string): Step<StepContext> => ({
      name,
      title: () => name,
      describe: () => '',
      done: (r) => r.steps.some((s) => s.step === name),
      run: async () => void ran.push(name),
    });
    const ctx = { resume: record(['a', 'c']) } as unknown as StepContext;
    await runSteps([step('a'), step('b'), step('c'), step('d')], ctx);
    expect(ran).toEqual(['b', 'd']);
    ran.length = 0;
    await runSteps([step('a'), step('b')], { resume: undefined } as unknown as StepContext);
    expect(ran).toEqual(['a', 'b']);
  });
});
