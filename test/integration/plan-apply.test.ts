/**
 * plan and apply end to end, through the built CLI, source 15 -> target 17: the target's schema equals the source's
 * object for object, a second plan says No changes, saved plans go stale, one lock per target, kill -9 anywhere
 * in the schema phase converges.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/state/lock.js';
import { migrateState } from '../../src/state/migrations.js';
import { stateDb } from '../../src/state/db.js';
import { BIN, REPO, runCli, runCliAsync } from '../e2e/cli.js';
import { expectSameSchema } from '../support/compare.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';
import { manyTablesSql } from '../support/schemas.js';

const FIXTURE = join(REPO, 'test', 'fixtures', 'catalog', 'all-kinds.sql');

function envOf(dbs: FreshDatabases): NodeJS.ProcessEnv {
  return { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
}

const cfg = configDir('plan-apply');
afterAll(() => cfg.remove());
const SCHEMA_ONLY = minimalConfig('copy: { data: false, parallel: 4 }\n');

describe('every object kind, hostile names', () => {
  let dbs: FreshDatabases;
  let file: string;
  beforeAll(async () => {
    dbs = await freshDatabases('plan_all_kinds');
    await withPg(dbs.sourceUrl, (c) => c.query(readFileSync(FIXTURE, 'utf8')));
    file = cfg.write(SCHEMA_ONLY, 'all-kinds.yaml');
  });
  afterAll(async () => dbs?.drop());

  it('plans changes (exit 2), applies them, and then plans No changes (exit 0)', async () => {
    const first = runCli(['plan', '-c', file, '--detailed-exitcode'], envOf(dbs));
    expect(first.status, first.stderr).toBe(2);
    expect(first.stdout).toMatch(/Plan: \d+ to add, 0 to resume, \d+ to change, 0 to destroy\./);
    expect(first.stdout).toContain('+ table We"ird Schema.select');

    const applied = runCli(['apply', '-c', file, '--auto-approve'], envOf(dbs));
    expect(applied.status, applied.stderr + applied.stdout).toBe(0);
    expect(applied.stdout).toMatch(/Apply complete! \d+ done, 0 failed/);
    await expectSameSchema(dbs.sourceUrl, dbs.targetUrl);

    const second = runCli(['plan', '-c', file, '--detailed-exitcode'], envOf(dbs));
    expect(second.status, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain('No changes.');
    const again = runCli(['apply', '-c', file], envOf(dbs)); // nothing to approve
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('No changes.');
  });

  it('status shows the state; apply without a terminal and without --auto-approve refuses', async () => {
    const s = runCli(['status', '-c', file, '--json'], envOf(dbs));
    expect(s.status, s.stderr).toBe(0);
    const view = JSON.parse(s.stdout) as {
      exists: boolean;
      objectCount: number;
      runs: { status: string }[];
      lock: unknown;
    };
    expect(view.exists).toBe(true);
    expect(view.objectCount).toBeGreaterThan(20);
    expect(view.runs[0]?.status).toBe('succeeded');
    expect(view.lock ?? null).toBeNull();
    await withPg(dbs.sourceUrl, (c) => c.query('CREATE TABLE public.added_later (id int PRIMARY KEY)'));
    const r = runCli(['apply', '-c', file], envOf(dbs));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Error [APPROVAL_REQUIRED]');
  });
});

describe('saved plans', () => {
  let dbs: FreshDatabases;
  let file: string;
  beforeAll(async () => {
    dbs = await freshDatabases('plan_saved');
    await withPg(dbs.sourceUrl, (c) => c.query(manyTablesSql(5, 'app')));
    file = cfg.write(SCHEMA_ONLY, 'saved.yaml');
  });
  afterAll(async () => dbs?.drop());

  const save = (name: string): string => {
    const out = join(cfg.dir, 'plans', `${name}.plan.json`);
    const r = runCli(['plan', '-c', file, '--out', out], envOf(dbs));
    expect(r.status, r.stderr).toBe(0);
    return out;
  };
  const applyPlan = (planFile: string) => runCli(['apply', planFile, '-c', file], envOf(dbs));

  it('go stale when the source schema changes', async () => {
    const p = save('source');
    expect(readFileSync(p, 'utf8')).not.toContain(new URL(dbs.sourceUrl).password);
    await withPg(dbs.sourceUrl, (c) => c.query('ALTER TABLE app.t1 ADD COLUMN note text'));
    const r = applyPlan(p);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Error \[PLAN_STALE\]: .*the source's schema changed/);
  });

  it('go stale when the target changes', async () => {
    const p = save('target');
    await withPg(dbs.targetUrl, (c) => c.query('CREATE TABLE public.someone_elses (id int)'));
    const r = applyPlan(p);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Error \[PLAN_STALE\]: .*the target's schema changed/);
  });

  it('go stale when the state changes, and apply exactly a fresh one', async () => {
    const p1 = save('state');
    const p2 = save('state-twin');
    const ok = applyPlan(p1);
    expect(ok.status, ok.stderr).toBe(0);
    const r = applyPlan(p2);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Error \[PLAN_STALE\]: .*(pgshift's state on the target|the target's schema) changed/);
  });

  it('still apply when only the estimates moved (a live source keeps inserting)', async () => {
    await withPg(dbs.sourceUrl, (c) =>
      c.query(
        "CREATE TABLE app.t_live (id int PRIMARY KEY, note text); INSERT INTO app.t_live SELECT g, repeat('x', 200) FROM generate_series(1, 100) g; ANALYZE app.t_live",
      ),
    );
    const live = cfg.write(minimalConfig('tables: { include: ["app.t_live"] }\n'), 'live.yaml');
    const out = join(cfg.dir, 'plans', 'live.plan.json');
    expect(runCli(['plan', '-c', live, '--out', out], envOf(dbs)).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('~100 rows');
    await withPg(dbs.sourceUrl, (c) =>
      c.query(
        "INSERT INTO app.t_live SELECT g, repeat('y', 200) FROM generate_series(101, 5000) g; ANALYZE app.t_live",
      ),
    );
    const r = runCli(['apply', out, '-c', live], envOf(dbs));
    expect(r.status, r.stderr).toBe(0);
    expect(
      await withPg(dbs.targetUrl, async (c) => (await c.query('SELECT count(*)::int AS n FROM app.t_live')).rows[0]),
    ).toEqual({ n: 5000 });
  });

  it('are refused when edited after saving', async () => {
    await withPg(dbs.sourceUrl, (c) => c.query('CREATE TABLE app.t_new (id int PRIMARY KEY)'));
    const p = save('edited');
    const text = readFileSync(p, 'utf8').replace('"table app.t_new"', '"table app.t_other"');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(p, text);
    const r = applyPlan(p);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Error [PLAN_STALE]');
    expect(r.stderr).toContain('was edited after it was saved');
  });

  it('markdown format renders for a pull request', () => {
    const r = runCli(['plan', '-c', file, '--format', 'markdown'], envOf(dbs));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^### pgshift plan: `test`/);
  });
});

describe('one lock per target', () => {
  let dbs: FreshDatabases;
  let file: string;
  beforeAll(async () => {
    dbs = await freshDatabases('plan_lock');
    await withPg(dbs.sourceUrl, (c) => c.query(manyTablesSql(150, 'app')));
    file = cfg.write(minimalConfig('copy: { data: false, parallel: 2 }\n'), 'lock.yaml');
  });
  afterAll(async () => dbs?.drop());

  it('two concurrent applies: exactly one runs, the other exits 1 with LOCK_HELD', async () => {
    // create the state schema first so both runs race for the lock, not for the first migration
    await withPg(dbs.targetUrl, (c) => migrateState(stateDb(c)));
    const [a, b] = await Promise.all([
      runCliAsync(['apply', '-c', file, '--auto-approve'], envOf(dbs)),
      runCliAsync(['apply', '-c', file, '--auto-approve'], envOf(dbs)),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses, a.stderr + b.stderr).toEqual([0, 1]);
    const loser = a.status === 1 ? a : b;
    expect(loser.stderr).toMatch(
      /Error \[LOCK_HELD\]: the target is locked by apply run [0-9a-f-]+ by .+ on .+ \(pid \d+\) since \d{4}-/,
    );
    expect(loser.stderr).toMatch(/pgshift unlock [0-9a-f]{16}/);
  });

  it('a lock held by a hung session is released by `pgshift unlock ID`', async () => {
    await withPg(dbs.targetUrl, async (hung) => {
      const lock = await acquireLock(hung, {
        runId: 'hung-run',
        command: 'apply',
        operator: 'someone',
        host: 'elsewhere',
      });
      const r = runCli(['apply', '-c', file, '--auto-approve'], envOf(dbs));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`pgshift unlock ${lock.lockId}`);
      const u = runCli(['unlock', lock.lockId, '-c', file], envOf(dbs));
      expect(u.status, u.stderr).toBe(0);
      expect(u.stdout).toContain('its session was ended');
    }).catch((err: Error) => {
      // the hung session was terminated by unlock: its client reports the lost connection on end()
      if (!/terminat|Connection/i.test(err.message)) throw err;
    });
    const again = runCli(['apply', '-c', file, '--auto-approve'], envOf(dbs));
    expect(again.status, again.stderr).toBe(0);
  });

  it('a state written by a newer pgshift: STATE_NEWER names the migration, changes nothing', async () => {
    await withPg(dbs.targetUrl, (c) =>
      c.query(`INSERT INTO pgshift.state_migrations (name, timestamp) VALUES ('9999_from_the_future', now()::text)`),
    );
    try {
      const r = runCli(['apply', '-c', file, '--auto-approve'], envOf(dbs));
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain('Error [STATE_NEWER]');
      expect(r.stderr).toContain('9999_from_the_future');
      expect(r.stderr).not.toMatch(/corrupted|\n\s+at /);
    } finally {
      await withPg(dbs.targetUrl, (c) =>
        c.query(`DELETE FROM pgshift.state_migrations WHERE name = '9999_from_the_future'`),
      );
    }
  });
});

describe('kill -9 during the schema phase', () => {
  let dbs: FreshDatabases;
  let file: string;
  beforeAll(async () => {
    dbs = await freshDatabases('plan_kill');
    await withPg(dbs.sourceUrl, (c) => c.query(manyTablesSql(120, 'app')));
    file = cfg.write(minimalConfig('copy: { data: false, parallel: 3 }\n'), 'kill.yaml');
  });
  afterAll(async () => dbs?.drop());

  it('converges to the same result after SIGKILL at random instants', async () => {
    const kills: number[] = [];
    for (let i = 0; i < 6; i++) {
      const delay = 300 + Math.floor(Math.random() * 1500);
      const child = spawn(process.execPath, [BIN, 'apply', '-c', file, '--auto-approve'], {
        cwd: REPO,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', ...envOf(dbs) },
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      const code = await exited;
      clearTimeout(timer);
      kills.push(delay);
      if (code === 0) break; // finished before the kill: nothing left to converge
    }
    const plan = runCli(['plan', '-c', file], envOf(dbs));
    expect(plan.status, plan.stderr).toBe(0);
    const final = runCli(['apply', '-c', file, '--auto-approve'], envOf(dbs));
    expect(final.status, `${final.stderr}\nkills at ${kills.join(', ')} ms`).toBe(0);
    await expectSameSchema(dbs.sourceUrl, dbs.targetUrl);
    const second = runCli(['plan', '-c', file, '--detailed-exitcode'], envOf(dbs));
    expect(second.status, second.stdout).toBe(0);
    const runs = await withPg(
      dbs.targetUrl,
      async (c) => (await c.query<{ status: string }>("SELECT status FROM pgshift.runs WHERE status = 'running'")).rows,
    );
    expect(runs).toEqual([]);
  });

  it('SIGINT stops cleanly with exit 130, records the run as interrupted, and apply continues', async () => {
    await withPg(dbs.sourceUrl, (c) => c.query(manyTablesSql(60, 'more')));
    const child = spawn(process.execPath, [BIN, 'apply', '-c', file, '--auto-approve', '--parallel', '1'], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', ...envOf(dbs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // wait until the run has started working, then interrupt it
    for (
      let i = 0;
      i < 100 &&
      !(await withPg(
        dbs.targetUrl,
        async (c) =>
          (await c.query("SELECT 1 FROM pg_class WHERE oid = to_regclass('pgshift.runs')")).rowCount === 1 &&
          (await c.query("SELECT 1 FROM pgshift.runs WHERE status = 'running'")).rowCount === 1,
      ));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('Error [INTERRUPTED]');
    const runs = await withPg(
      dbs.targetUrl,
      async (c) =>
        (await c.query<{ status: string }>('SELECT status FROM pgshift.runs ORDER BY started_at DESC LIMIT 1')).rows,
    );
    expect(runs[0]?.status).toBe('interrupted');
    const final = runCli(['apply', '-c', file, '--auto-approve'], envOf(dbs));
    expect(final.status, final.stderr).toBe(0);
    await expectSameSchema(dbs.sourceUrl, dbs.targetUrl);
  });
});
