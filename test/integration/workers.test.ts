/**
 * An apply and two `pgshift worker`s on one migration: a random one of the three is killed (SIGKILL) ten times in
 * total, each restarted at once (the apply as a new apply run that resumes), until the apply exits 0. Then every copy
 * unit is done exactly once (rows copied per table == rows on the source, keyless tables included: a unit copied
 * twice would duplicate them), and the target equals the source.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, runCli, runCliAsync } from '../e2e/cli.js';
import { expectSameData } from '../support/compare.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const cfg = configDir('workers');
afterAll(() => cfg.remove());

const SOURCE_SQL = `
  CREATE EXTENSION IF NOT EXISTS pgcrypto;
  CREATE TABLE public.obs (id bigint PRIMARY KEY, patient int NOT NULL, v text NOT NULL);
  INSERT INTO public.obs SELECT g, g % 997, repeat('o', 60) FROM generate_series(1, 320000) g;
  CREATE TABLE public.docs (id uuid PRIMARY KEY, body text NOT NULL);
  INSERT INTO public.docs SELECT gen_random_uuid(), repeat('d', 80) || g FROM generate_series(1, 80000) g;
  CREATE TABLE public.visits (site int NOT NULL, code text NOT NULL, at date NOT NULL, PRIMARY KEY (site, code));
  INSERT INTO public.visits SELECT g % 11, 'V' || g, DATE '2020-01-01' + g % 900 FROM generate_series(1, 60000) g;
  CREATE TABLE public.log_a (line text);
  INSERT INTO public.log_a SELECT 'same line' FROM generate_series(1, 6000) g;
  CREATE TABLE public.log_b (n int, line text);
  INSERT INTO public.log_b SELECT g % 5, 'dup' FROM generate_series(1, 8000) g;
  CREATE TABLE public.small (id int PRIMARY KEY, v text);
  INSERT INTO public.small SELECT g, 's' FROM generate_series(1, 3000) g;
  CREATE INDEX obs_patient_idx ON public.obs (patient);
  ANALYZE;
`;

type Role = 'apply' | 'worker-1' | 'worker-2';

interface Proc {
  role: Role;
  child: ChildProcess;
  exited: Promise<number | null>;
  stdout: string;
  stderr: string;
  startedAt: number;
  killed: boolean;
}

describe('an apply and two workers under SIGKILL', () => {
  let dbs: FreshDatabases;
  let file: string;
  beforeAll(async () => {
    dbs = await freshDatabases('workers');
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE_SQL));
    file = cfg.write(
      minimalConfig('copy: { batch_size: 200, parallel: 2, split_tables_larger_than: 512kB, lease: 2s }\n'),
      'workers.yaml',
    );
  });
  afterAll(async () => dbs?.drop());

  it('every unit is done exactly once and the target equals the source', async () => {
    const started = Date.now();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CI: 'true',
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: dbs.targetUrl,
    };
    const launch = (role: Role): Proc => {
      const args =
        role === 'apply'
          ? ['apply', '-c', file, '--auto-approve', '--log-level', 'warn']
          : ['worker', '-c', file, '--json', '--log-level', 'warn'];
      const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const p: Proc = {
        role,
        child,
        exited: new Promise((r) => child.on('exit', (code) => r(code))),
        stdout: '',
        stderr: '',
        startedAt: Date.now(),
        killed: false,
      };
      child.stdout?.on('data', (d: Buffer) => (p.stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (p.stderr += d.toString()));
      return p;
    };
    const procs = new Map<Role, Proc>();
    const exitCodes = new Map<Role, (number | null)[]>();
    const log: string[] = [];
    const workerReports: Array<{ units: { unit: string; outcome: string; rows: number }[] }> = [];
    let applyDone = false;
    // keeps each role running: a killed one is restarted at once; a worker that found no apply (the apply being
    // restarted) is started again; a worker that finished (exit 0) stays down
    const supervise = (role: Role): void => {
      const p = launch(role);
      procs.set(role, p);
      void p.exited.then((code) => {
        exitCodes.set(role, [...(exitCodes.get(role) ?? []), code]);
        if (role !== 'apply' && code === 0) {
          try {
            workerReports.push(JSON.parse(p.stdout) as (typeof workerReports)[number]);
          } catch {
            // a worker killed as it printed
          }
        }
        if (role === 'apply' && code === 0) {
          applyDone = true;
          return;
        }
        if (role === 'apply' && !p.killed) log.push(`apply exited ${code} without a kill`);
        if (role !== 'apply' && code === 0) return;
        if (applyDone && role !== 'apply') return;
        setTimeout(() => supervise(role), p.killed ? 0 : 300);
      });
    };
    supervise('apply');
    // the workers join once the apply holds the lock (a worker with no apply to join exits 1 and is started again)
    await new Promise((r) => setTimeout(r, 1500));
    supervise('worker-1');
    supervise('worker-2');

    const roles: Role[] = ['apply', 'worker-1', 'worker-2'];
    let kills = 0;
    const killed: string[] = [];
    while (kills < 10 && !applyDone) {
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 600)));
      if (applyDone) break;
      const live = roles
        .map((r) => procs.get(r))
        .filter(
          (p): p is Proc => p !== undefined && p.child.exitCode === null && !p.killed && Date.now() - p.startedAt > 500,
        );
      const victim = live[Math.floor(Math.random() * live.length)];
      if (!victim) continue;
      victim.killed = true;
      victim.child.kill('SIGKILL');
      await victim.exited;
      kills++;
      killed.push(victim.role);
    }
    // the apply now runs to its end (and the workers help it)
    for (let i = 0; i < 600 && !applyDone; i++) await new Promise((r) => setTimeout(r, 100));
    expect(applyDone, `apply did not finish: ${log.join('; ')}; kills ${killed.join(', ')}`).toBe(true);
    expect(kills, `the apply finished after ${kills} kills (${killed.join(', ')}): not enough work`).toBe(10);
    // the workers see nothing left and exit 0 (one restarted as the apply ended finds no apply to join: exit 1)
    for (const r of ['worker-1', 'worker-2'] as const) {
      const p = procs.get(r) as Proc;
      const code = await Promise.race([p.exited, new Promise((res) => setTimeout(() => res('timeout'), 15000))]);
      if (code === 1 && /NO_APPLY_RUNNING.*nothing to join/.test(p.stderr)) continue;
      expect(code, `${r} after the apply finished: ${p.stderr.slice(-500)}`).toBe(0);
    }

    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
    await withPg(dbs.targetUrl, async (c) => {
      const cps = await c.query<{ table_name: string; units: number; done: number; rows: string }>(
        `SELECT table_name, count(*)::int AS units, count(*) FILTER (WHERE status = 'done')::int AS done,
                sum(rows_copied)::text AS rows
           FROM pgshift.migration_checkpoints GROUP BY 1 ORDER BY 1`,
      );
      const source = await withPg(dbs.sourceUrl, async (s) => {
        const out = new Map<string, number>();
        for (const t of ['docs', 'log_a', 'log_b', 'obs', 'small', 'visits']) {
          const r = await s.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.${t}`);
          out.set(t, r.rows[0]?.n ?? -1);
        }
        return out;
      });
      // every unit done, and its batches committed exactly once: rows copied add up to the source's rows
      for (const r of cps.rows) {
        expect(r.done, r.table_name).toBe(r.units);
        expect(Number(r.rows), `rows copied into ${r.table_name}`).toBe(source.get(r.table_name));
      }
      expect(cps.rows.map((r) => r.table_name)).toEqual(['docs', 'log_a', 'log_b', 'obs', 'small', 'visits']);
      // split tables were copied as parts: obs, docs and visits
      const parts = cps.rows.filter((r) => r.units > 1).map((r) => r.table_name);
      expect(parts).toEqual(['docs', 'obs', 'visits']);
      const q = await c.query<{ status: string; n: number; taken_over: number }>(
        `SELECT status, count(*)::int AS n, count(*) FILTER (WHERE claims > 1)::int AS taken_over
           FROM pgshift.work_units GROUP BY 1`,
      );
      // the queue of the last apply run: every unit done (none left when that run began after the last copy, as
      // when the apply was killed during its read-backs or builds: a run queues only the copies it plans)
      expect(q.rows.filter((r) => r.status !== 'done')).toEqual([]);
      const v = await c.query<{ result: string; proofs: string[] }>(
        `SELECT result, ARRAY(SELECT t->>'proof' FROM jsonb_array_elements(report->'tables') t ORDER BY t->>'table') AS proofs
           FROM pgshift.verifications ORDER BY finished_at DESC LIMIT 1`,
      );
      expect(v.rows[0]?.result).toBe('passed');
      // the split tables are proven by their parts' summed copy digests
      log.push(`proofs ${v.rows[0]?.proofs.join(',')}`);
      log.push(`units ${q.rows[0]?.n}, claimed more than once ${q.rows[0]?.taken_over}`);
    });
    // the workers did copy: the last run of each reports its units
    const byWorkers = workerReports.flatMap((w) => w.units).filter((u) => u.outcome === 'done');
    expect(byWorkers.length + killed.filter((k) => k !== 'apply').length).toBeGreaterThan(0);
    const ms = Date.now() - started;
    console.log(
      `workers test: ${kills} kills (${killed.join(', ')}), ${log.join('; ')}, units done by surviving worker runs ${byWorkers.length}, ${ms} ms`,
    );
  }, 150_000);

  it("a worker with no apply to join exits 1 (NO_APPLY_RUNNING); status shows a live worker's unit as running", async () => {
    const other = await freshDatabases('workers_status');
    const env = { SOURCE_DATABASE_URL: other.sourceUrl, TARGET_DATABASE_URL: other.targetUrl };
    const spawnEnv = { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', ...env };
    const children: ChildProcess[] = [];
    try {
      await withPg(other.sourceUrl, (c) =>
        c.query(`CREATE TABLE public.obs (id bigint PRIMARY KEY, v text NOT NULL);
                 INSERT INTO public.obs SELECT g, repeat('o', 60) FROM generate_series(1, 60000) g; ANALYZE public.obs;`),
      );
      const slow = cfg.write(
        minimalConfig('copy: { batch_size: 50, parallel: 1, split_tables_larger_than: 1MB }\n'),
        'workers-status.yaml',
      );
      const alone = runCli(['worker', '-c', slow], env);
      expect(alone.status).toBe(1);
      expect(alone.stderr).toContain('NO_APPLY_RUNNING');

      const start = (args: string[]): { child: ChildProcess; exited: Promise<number | null> } => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: spawnEnv, stdio: 'ignore' });
        children.push(child);
        return { child, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
      };
      const applyRun = start(['apply', '-c', slow, '--auto-approve']);
      const query = async (sql: string): Promise<number> =>
        withPg(other.targetUrl, async (c) => {
          if ((await c.query("SELECT to_regclass('pgshift.work_units') AS t")).rows[0]?.t === null) return 0;
          return (await c.query(sql)).rowCount ?? 0;
        });
      for (let i = 0; i < 200 && (await query('SELECT 1 FROM pgshift.work_units WHERE ready')) === 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      const worker = start(['worker', '-c', slow]);
      // the worker holds a unit and has copied some of it
      const held = `SELECT 1 FROM pgshift.work_units w JOIN pgshift.migration_checkpoints c USING (unit)
                     WHERE w.owner LIKE 'worker %' AND w.status = 'claimed' AND c.status = 'running'`;
      for (let i = 0; i < 200 && (await query(held)) === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await query(held)).toBeGreaterThan(0);
      applyRun.child.kill('SIGKILL');
      await applyRun.exited;
      const s = await runCliAsync(['status', '-c', slow, '--json'], env);
      expect(s.status, s.stderr).toBe(0);
      const view = JSON.parse(s.stdout) as {
        lock?: { alive: boolean };
        checkpoints: { tableName: string; status: string }[];
        workers: { unit: string; owner: string; live: boolean }[];
      };
      // the apply is gone, its worker is not: the table its unit belongs to is running, not interrupted
      expect(view.workers.some((w) => w.owner.startsWith('worker ') && w.live)).toBe(true);
      expect(view.checkpoints.find((c) => c.tableName === 'obs')?.status).toBe('running');
      const text = await runCliAsync(['status', '-c', slow], env);
      expect(text.stdout).toMatch(/Copy units: [0-9]+ of [0-9]+ done, [0-9]+ claimed now/);
      expect(text.stdout).toMatch(/copy public\.obs \[[0-9]+\/[0-9]+\]\s+worker /);
      // a new apply run picks the queue up; the worker finishes with it
      const again = await runCliAsync(['apply', '-c', slow, '--auto-approve'], env);
      expect(again.status, again.stderr).toBe(0);
      expect(await worker.exited).toBe(0);
      await expectSameData(other.sourceUrl, other.targetUrl);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await other.drop();
    }
  }, 120_000);
});
