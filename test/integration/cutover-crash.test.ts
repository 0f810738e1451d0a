/**
 * A cutover or a rollback killed with SIGKILL at any step (before it, after its effect but before its record,
 * after its record) leaves a state from which `pgshift cutover` or `pgshift rollback` completes: the data ends up
 * equal, the env file points where the finished command says, and the side that should take writes does.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { CLINIC_SQL } from '../support/clinic.js';
import { expectSameData } from '../support/compare.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const cfg = configDir('cutover-crash');
const envFile = join(cfg.dir, 'app.env');
let dbs: FreshDatabases;
let env: NodeJS.ProcessEnv;
let file: string;

async function writable(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(`UPDATE "Clinic ""One""".patients SET notes = notes WHERE id = 1`);
    await c.query('ROLLBACK');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '25006') return false;
    throw err;
  } finally {
    await c.end();
  }
}

function pointsAt(): 'source' | 'target' {
  const text = readFileSync(envFile, 'utf8');
  if (text.includes(`DATABASE_URL=${dbs.targetUrl}`)) return 'target';
  expect(text).toContain(`DATABASE_URL=${dbs.sourceUrl}`);
  return 'source';
}

function killed(args: string[], at: string): void {
  const r = runCli([...args, '-c', file, '--auto-approve'], { ...env, PGSHIFT_FAULT_KILL: at });
  expect(r.status, `${args[0]} at ${at} should have been killed:\n${r.stdout}\n${r.stderr}`).toBeNull();
}

function completes(cmd: 'cutover' | 'rollback', why: string): string {
  const r = runCli([cmd, '-c', file, '--auto-approve'], env);
  expect(r.status, `${cmd} after ${why}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

async function expectCutOver(why: string): Promise<void> {
  expect(pointsAt(), why).toBe('target');
  await expectSameData(dbs.sourceUrl, dbs.targetUrl, { ignoreTargetOnly: true });
  expect(await writable(dbs.sourceUrl), why).toBe(false);
  expect(await writable(dbs.targetUrl), why).toBe(true);
}

async function expectOnSource(why: string): Promise<void> {
  expect(pointsAt(), why).toBe('source');
  expect(await writable(dbs.sourceUrl), why).toBe(true);
}

beforeAll(async () => {
  dbs = await freshDatabases('cutover_crash');
  await withPg(dbs.sourceUrl, (c) => c.query(CLINIC_SQL));
  env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
  file = cfg.write(
    minimalConfig(`verify: { checksums: sampled }
cutover:
  switch:
    env_file: ${envFile}
    variable: DATABASE_URL
    value: \${TARGET_DATABASE_URL}
    command: "echo ok >> hook.log"
`),
  );
  writeFileSync(envFile, `DATABASE_URL=${dbs.sourceUrl}\n`);
  const applied = runCli(['apply', '-c', file, '--auto-approve'], env);
  expect(applied.status, applied.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await dbs?.drop();
  cfg.remove();
});

const CUTOVER_POINTS = [
  'health:before',
  'catch-up:effect',
  'freeze:effect',
  'final-sync:effect',
  'sequences:after',
  'verify:effect',
  'switching:effect',
  'switching:after',
  'command:effect',
  'health-after:after',
];
const ROLLBACK_POINTS = [
  'catch-up:effect',
  'freeze-target:effect',
  'carry-back:effect',
  'verify:after',
  'unfreeze-source:effect',
  'switching:effect',
  'command:after',
];

describe('SIGKILL during a cutover', () => {
  it.each(CUTOVER_POINTS.map((p, i) => [p, i % 2 === 0 ? 'cutover' : 'rollback'] as const))(
    'killed at %s, then `pgshift %s` completes',
    async (point, recovery) => {
      await withPg(dbs.sourceUrl, (c) =>
        c.query(`INSERT INTO "Clinic ""One""".patients (name) VALUES ($1)`, [`before ${point}`]),
      );
      killed(['cutover'], point);
      if (recovery === 'cutover') {
        completes('cutover', `a kill at ${point}`);
        await expectCutOver(point);
        completes('rollback', 'a finished cutover');
        await expectOnSource(point);
      } else {
        completes('rollback', `a kill at ${point}`);
        await expectOnSource(point);
        // and the next cutover is not hindered by what the killed one left
        completes('cutover', `a rollback after a kill at ${point}`);
        await expectCutOver(point);
        completes('rollback', 'a finished cutover');
      }
    },
    120_000,
  );
});

describe('SIGKILL during a rollback', () => {
  it.each(ROLLBACK_POINTS)(
    'killed at %s, then `pgshift rollback` completes',
    async (point) => {
      completes('cutover', 'the previous test');
      await withPg(dbs.targetUrl, (c) =>
        c.query(`INSERT INTO "Clinic ""One""".patients (name) VALUES ($1)`, [`on target before ${point}`]),
      );
      killed(['rollback'], point);
      completes('rollback', `a rollback killed at ${point}`);
      await expectOnSource(point);
      await expectSameData(dbs.sourceUrl, dbs.targetUrl, { ignoreTargetOnly: true });
      const n = await withPg(
        dbs.sourceUrl,
        async (c) =>
          (
            await c.query(`SELECT count(*)::int AS n FROM "Clinic ""One""".patients WHERE name = $1`, [
              `on target before ${point}`,
            ])
          ).rows[0],
      );
      expect(n).toEqual({ n: 1 });
    },
    120_000,
  );
});

describe('the audit trail after all that', () => {
  it('holds every cutover and rollback in one unbroken chain (more than ten entries: ordered by number, not text)', async () => {
    const n = await withPg(
      dbs.targetUrl,
      async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pgshift.audit_log')).rows[0]?.n ?? 0,
    );
    expect(n).toBeGreaterThan(20);
    const r = runCli(['status', '-c', file, '--audit'], env);
    expect(r.status, r.stderr).toBe(0);
    const seqs = await withPg(dbs.targetUrl, async (c) =>
      (await c.query<{ seq: string }>('SELECT seq FROM pgshift.audit_log ORDER BY seq')).rows.map((x) => Number(x.seq)),
    );
    expect(seqs).toEqual(Array.from({ length: n }, (_v, i) => i + 1));
  });
});
