/**
 * An apply and two `pgshift worker`s on one migration: a random one of the three is killed (SIGKILL) ten times in
 * total, each restarted at once (the apply as a new apply run that resumes), until the apply exits 0. Then every copy
 * unit is done exactly once (rows copied per table == rows on the source, keyless tables included: a unit copied
 * twice would duplicate them), and the target equals the source.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO } from '../e2e/cli.js';
import { expectSameData } from '../support/compare.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const cfg = configDir('workers');
afterAll(() => cfg.remove());

const SOURCE_SQL = `
  CREATE EXTENSION IF NOT EXISTS pgcrypto;
  CREATE TABLE public.obs (id bigint PRIMARY KEY, patient int NOT NULL, v text NOT NULL);
  INSERT INTO public.obs SELECT g, g % 997, repeat('o', 60) FROM generate_series(1, 90000) g;
  CREATE TABLE public.docs (id uuid PRIMARY KEY, body text NOT NULL);
  INSERT INTO public.docs SELECT gen_random_uuid(), repeat('d', 80) || g FROM generate_series(1, 50000) g;
  CREATE TABLE public.visits (site int NOT NULL, code text NOT NULL, at date NOT NULL, PRIMARY KEY (site, code));
  INSERT INTO public.visits SELECT g % 11, 'V' || g, DATE '2020-01-01' + g % 900 FROM generate_series(1, 40000) g;
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
      minimalConfig('copy: { batch_size: 300, parallel: 2, split_tables_larger_than: 512kB, lease: 2s }\n'),
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
      const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'ignore'] });
      const p: Proc = {
        role,
        child,
        exited: new Promise((r) => child.on('exit', (code) => r(code))),
        stdout: '',
        startedAt: Date.now(),
        killed: false,
      };
      child.stdout?.on('data', (d: Buffer) => (p.stdout += d.toString()));
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
      await new Promise((r) => setTimeout(r, 700 + Math.floor(Math.random() * 1100)));
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
    // the workers see nothing left and exit 0
    for (const r of ['worker-1', 'worker-2'] as const) {
      const p = procs.get(r) as Proc;
      const code = await Promise.race([p.exited, new Promise((res) => setTimeout(() => res('timeout'), 15000))]);
      expect(code, `${r} after the apply finished`).toBe(0);
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
      expect(q.rows.map((r) => r.status)).toEqual(['done']);
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
    expect(ms).toBeLessThan(90_000);
  }, 150_000);
});
