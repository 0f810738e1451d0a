import { describe, expect, it } from 'vitest';
import type { LargeObjectSummary } from '../../src/catalog/large-objects.js';
import type { Catalog } from '../../src/catalog/types.js';
import { renderPlanMarkdown, renderPlanText } from '../../src/cli/render/plan.js';
import { ProgressState } from '../../src/cli/render/progress.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { largeObjectsPlan } from '../../src/plan/large-objects-plan.js';
import type { Plan } from '../../src/plan/model.js';
import { decisionHash } from '../../src/plan/planfile.js';
import type { LargeObjectProgress } from '../../src/state/large-objects.js';

function config(extra = ''): Config {
  const r = parseConfig(
    `version: 1\nname: clinic\nsource:\n  url: postgres://app:pw@127.0.0.1:5432/clinic\ntarget:\n  url: postgres://postgres:pw@127.0.0.1:5433/postgres\n${extra}`,
    'migration.yaml',
    {},
  );
  if (!r.config) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

const target = { roles: ['postgres', 'reader'], memberOf: ['postgres', 'reader'], objects: [] } as unknown as Catalog;

const summary: LargeObjectSummary = {
  count: 10_003,
  maxOid: '26000',
  estimatedBytes: 40 * 1024 * 1024,
  owners: [
    { role: 'app', objects: 9003 },
    { role: 'scanner', objects: 1000 },
  ],
  grantees: [
    { role: '', objects: 1 },
    { role: 'reader', objects: 1429 },
    { role: 'nobody', objects: 3 },
  ],
  unreadable: 0,
  firstUnreadable: null,
};

const progress = (p: Partial<LargeObjectProgress>): LargeObjectProgress => ({
  status: 'running',
  lastOid: '18000',
  objects: 4000,
  bytes: 8 * 1024 * 1024,
  digest: 'd',
  runId: 'r',
  updatedAt: new Date(0),
  ...p,
});

const planOf = (actions: Plan['actions']): Plan => ({
  formatVersion: 1,
  migration: 'clinic',
  source: 's',
  target: 't',
  configHash: 'c',
  sourceFingerprint: 'f',
  targetFingerprint: 'g',
  stateSerial: 'x',
  actions,
  findings: [],
  summary: { add: 1, resume: 0, change: 0, destroy: 0, unchanged: 0 },
});

const MAPPED = `roles:\n  map: { scanner: "we\\"ird owner", reader: reader }\n  create: ["we\\"ird owner"]\n  owners: mapped\n`;

describe('large objects in the plan', () => {
  it('is one data action with the owners and grantees roles.map gives, shown as `+ large_objects: N objects, M`', () => {
    const p = largeObjectsPlan(config(MAPPED), target, summary, undefined, new Set(['role we"ird owner']));
    expect(p.actions).toHaveLength(1);
    const a = p.actions[0];
    expect(a).toMatchObject({
      kind: 'large_objects',
      change: 'create',
      phase: 'data',
      locks: ['large_objects'],
      objects: 10_003,
      resumeAfter: null,
      owners: { scanner: 'we"ird owner' },
      grantees: { '': '', reader: 'reader' },
      dependsOn: ['role we"ird owner'],
    });
    expect(renderPlanText(planOf(p.actions))).toContain('  + large_objects: 10,003 objects, ~40.0 MiB');
    expect(renderPlanMarkdown(planOf(p.actions))).toContain('+ large_objects: 10,003 objects, ~40.0 MiB');
    // a grantee roles.map does not name: not granted, and said
    expect(p.findings.map((f) => f.code)).toEqual(['GRANT_DROPPED']);
    expect(p.findings[0]?.message).toContain('"nobody" (3 object(s))');
  });

  it('resumes after the checkpoint, is a no-op once done, and is absent without large objects or copy.data', () => {
    const c = config();
    const resumed = largeObjectsPlan(c, target, summary, progress({}), new Set()).actions[0];
    expect(resumed?.change).toBe('resume');
    expect(resumed?.resumeAfter).toBe('18000');
    expect(renderPlanText(planOf(resumed ? [resumed] : []))).toContain(
      '~ large_objects: 10,003 objects, ~40.0 MiB (resuming after OID 18000: 4,000 objects, 8.0 MiB copied)',
    );
    const done = largeObjectsPlan(c, target, summary, progress({ status: 'done', lastOid: '26000' }), new Set());
    expect(done).toMatchObject({ actions: [], unchanged: 1 });
    // objects created on the source after the copy finished: copied after the last OID
    const more = largeObjectsPlan(c, target, summary, progress({ status: 'done', lastOid: '25000' }), new Set());
    expect(more.actions[0]).toMatchObject({ change: 'resume', resumeAfter: '25000' });
    expect(largeObjectsPlan(c, target, { ...summary, count: 0, maxOid: null }, undefined, new Set()).actions).toEqual(
      [],
    );
    expect(largeObjectsPlan(config('copy: { data: false }\n'), target, summary, undefined, new Set()).actions).toEqual(
      [],
    );
  });

  it('blocks on objects the source role cannot read and on owners it cannot give them to', () => {
    const p = largeObjectsPlan(
      config('roles:\n  map: { scanner: stranger }\n  owners: mapped\n'),
      target,
      { ...summary, unreadable: 2, firstUnreadable: '16400' },
      undefined,
      new Set(),
    );
    const blockers = p.findings.filter((f) => f.severity === 'blocker');
    expect(blockers.map((f) => f.code).sort()).toEqual(['LARGE_OBJECTS_UNREADABLE', 'OWNER_REFUSED']);
    expect(blockers.find((f) => f.code === 'LARGE_OBJECTS_UNREADABLE')?.message).toContain(
      'cannot read 2 of the source',
    );
    expect(blockers.find((f) => f.code === 'LARGE_OBJECTS_UNREADABLE')?.message).toContain('OID 16400');
  });

  it('warns of target objects pgshift did not create with OIDs the source uses', () => {
    const p = largeObjectsPlan(config(), target, summary, undefined, new Set(), { objects: 2, first: '16500' });
    expect(p.actions).toHaveLength(1);
    expect(p.findings.find((f) => f.code === 'LARGE_OBJECT_EXISTS')).toMatchObject({
      severity: 'warning',
      message: expect.stringContaining('2 large object(s) that pgshift did not create') as unknown as string,
    });
    expect(p.findings.find((f) => f.code === 'LARGE_OBJECT_EXISTS')?.hint).toContain('lo_unlink(16500)');
  });

  it("decides the same when only the source's count and size moved (a saved plan stays fresh)", () => {
    const c = config();
    const a = largeObjectsPlan(c, target, summary, undefined, new Set()).actions;
    const b = largeObjectsPlan(
      c,
      target,
      { ...summary, count: 10_500, estimatedBytes: 41 * 1024 * 1024 },
      undefined,
      new Set(),
    ).actions;
    expect(decisionHash(planOf(a))).toBe(decisionHash(planOf(b)));
    const resumed = largeObjectsPlan(c, target, summary, progress({}), new Set()).actions;
    expect(decisionHash(planOf(resumed))).not.toBe(decisionHash(planOf(a)));
  });
});

describe('large objects in the progress view', () => {
  it('counts objects and bytes against the objects the plan expects', () => {
    let t = 0;
    const a = largeObjectsPlan(config(), target, summary, undefined, new Set()).actions[0];
    if (!a) throw new Error('no action');
    const s = new ProgressState([a], () => t);
    s.onEvent({ type: 'action-start', action: a });
    t = 2000;
    s.onEvent({ type: 'action-progress', action: a, rows: 4000, bytes: 3 * 1024 * 1024 });
    const r = s.get(a.id);
    if (!r) throw new Error('not running');
    expect(s.line(r)).toBe('large_objects (2s): 4,000 objects, 2,000 objects/s, 40%, ETA 3s, 3.0 MiB');
  });
});
