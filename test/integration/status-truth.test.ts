/**
 * Output that tells the truth (issue 16): what status, rollback, destroy and verify print is what happened. Each test
 * reproduces a lie the first user met (a stale row count, a stopped copy shown as running, a failure that was
 * resumed and finished, a closing line that forgot the catch-up, a plan of nothing, an INTERNAL error before any
 * apply, env backups with passwords left behind without a word) and checks the output against the databases.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetRows } from '../../src/state/target-rows.js';
import { BIN, REPO, runCli, runCliAsync } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const cfg = configDir('status-truth');
const envFile = join(cfg.dir, 'app.env');
const okFile = join(cfg.dir, 'reload-ok');
let dbs: FreshDatabases;
let env: NodeJS.ProcessEnv;
let file: string;

const count = async (url: string): Promise<number> =>
  withPg(
    url,
    async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM public.appointments')).rows[0]?.n ?? -1,
  );
const backups = (): string[] =>
  readdirSync(cfg.dir)
    .filter((f) => f.startsWith('app.env.pgshift-') && f.endsWith('.bak'))
    .sort();
/** The backup file the state records for the first or the last cutover. */
const backupOf = async (which: 'first' | 'last'): Promise<string> =>
  withPg(
    dbs.targetUrl,
    async (c) =>
      (
        await c.query<{ f: string }>(
          `SELECT backup_file AS f FROM pgshift.cutover WHERE direction = 'cutover' AND backup_file IS NOT NULL
            ORDER BY started_at ${which === 'first' ? 'ASC' : 'DESC'} LIMIT 1`,
        )
      ).rows[0]?.f ?? '(none recorded)',
  );
const line = (text: string, start: RegExp): string => text.split('\n').find((l) => start.test(l)) ?? '';

beforeAll(async () => {
  dbs = await freshDatabases('status-truth');
  await withPg(dbs.sourceUrl, (c) =>
    c.query(`CREATE TABLE public.appointments (id serial PRIMARY KEY, note text NOT NULL);
             INSERT INTO public.appointments (note) SELECT 'visit ' || g FROM generate_series(1, 5000) g;
             CREATE TABLE public.rooms (id int PRIMARY KEY, name text); INSERT INTO public.rooms VALUES (1, 'a'), (2, 'b');`),
  );
  env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
  writeFileSync(envFile, `DATABASE_URL=${dbs.sourceUrl}\n`);
  file = cfg.write(
    minimalConfig(`cutover:
  strategy: freeze
  switch:
    env_file: ${envFile}
    variable: DATABASE_URL
    value: \${TARGET_DATABASE_URL}
    command: "test -f ${okFile} || exit 3"
`),
  );
});
afterAll(async () => {
  await dbs?.drop();
  cfg.remove();
});

describe('output that tells the truth', () => {
  it('verify before any apply: STATE_MISSING, naming `pgshift apply`, exit 1', () => {
    const r = runCli(['verify', '-c', file], env);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain('Error [STATE_MISSING]');
    expect(r.stderr).toContain('pgshift apply');
    expect(r.stderr).not.toContain('INTERNAL');
    expect(r.stderr).not.toContain('bug in pgshift');
  });

  it('destroy on a target whose state records nothing: nothing to destroy, nothing planned, exit 0', async () => {
    // a cutover refused before any apply still writes pgshift's (empty) state schema
    const refused = runCli(['cutover', '-c', file, '--auto-approve'], env);
    expect(refused.status).toBe(1);
    expect(
      await withPg(
        dbs.targetUrl,
        async (c) => (await c.query("SELECT 1 FROM pg_namespace WHERE nspname = 'pgshift'")).rowCount,
      ),
    ).toBe(1);
    const r = runCli(['destroy', '-c', file, '--auto-approve'], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Nothing to destroy');
    expect(r.stdout).not.toContain('schema pgshift');
    expect(r.stdout).not.toContain('0 dropped');
    expect(r.stdout).not.toContain('Plan:');
    // and verify says the same as before any apply
    const v = runCli(['verify', '-c', file], env);
    expect(v.status, v.stderr).toBe(1);
    expect(v.stderr).toContain('Error [STATE_MISSING]');
  });

  it('a cutover fails at its switch command, is resumed and finishes', async () => {
    const applied = runCli(['apply', '-c', file, '--auto-approve'], env);
    expect(applied.status, applied.stderr).toBe(0);
    // the application writes on the source after the copy: the cutover's catch-up and final sync carry them
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`INSERT INTO public.appointments (note) VALUES ('late 1'), ('late 2'), ('late 3')`),
    );
    const failed = runCli(['cutover', '-c', file, '--auto-approve'], env);
    expect(failed.status, failed.stderr).toBe(1);
    expect(failed.stderr).toContain('status 3');
    writeFileSync(okFile, '');
    const resumed = runCli(['cutover', '-c', file, '--auto-approve'], env);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(await count(dbs.targetUrl)).toBe(5003);
  });

  it('status: a table shows the rows the copy carried and those the target holds now, not a stale count', () => {
    const s = runCli(['status', '-c', file], env);
    expect(s.status, s.stderr).toBe(0);
    const table = line(s.stdout, /^\s+done\s+public\.appointments/);
    expect(table).not.toMatch(/\s5000 rows$/);
    expect(table).toContain('5000 rows copied');
    expect(table).toContain('5003 on the target now');
    const j = JSON.parse(runCli(['status', '-c', file, '--json'], env).stdout) as {
      checkpoints: Array<{ tableName: string; rowsCopied: number; targetRows: unknown }>;
    };
    const c = j.checkpoints.find((x) => x.tableName === 'appointments');
    expect(c?.rowsCopied).toBe(5000);
    expect(c?.targetRows).toEqual({ rows: 5003, exact: true });
  });

  it('status: a table past the exact-count size gets the server estimate, marked as one', async () => {
    const t = await withPg(dbs.targetUrl, (c) =>
      targetRows(
        c,
        [
          { schema: 'public', name: 'appointments' },
          { schema: 'public', name: 'gone' },
        ],
        { exactMaxBytes: 0 },
      ),
    );
    expect(t.get('public.appointments')).toEqual({ rows: expect.any(Number) as number, exact: false });
    expect(t.get('public.gone')).toBeNull();
  });

  it('status: a cutover resumed after a failure shows its final outcome, not the old failure', () => {
    const s = runCli(['status', '-c', file], env);
    const cut = line(s.stdout, /^\s+cutover\s/);
    expect(cut).toContain('cutover done');
    expect(cut).not.toContain('status 3');
    const j = JSON.parse(runCli(['status', '-c', file, '--json'], env).stdout) as {
      cutover: { status: string; error: string | null };
    };
    expect(j.cutover.status).toBe('done');
    expect(j.cutover.error).toBeNull();
  });

  it('status: the last verification, its result, time, tables and differences', () => {
    const v = runCli(['verify', '-c', file], env);
    expect(v.status, v.stderr).toBe(0);
    const s = runCli(['status', '-c', file], env);
    const ver = line(s.stdout, /^\s+verification\s/);
    expect(ver).toMatch(/passed \d{4}-\d\d-\d\dT/);
    expect(ver).toContain('2 tables');
    expect(ver).toContain('0 differences');
  });

  it('status: names the env backup that holds the old URL (text and json)', () => {
    expect(backups()).toHaveLength(1);
    const path = join(cfg.dir, backups()[0] as string);
    const s = runCli(['status', '-c', file], env);
    expect(line(s.stdout, /^\s+env backup\s/)).toContain(path);
    const j = JSON.parse(runCli(['status', '-c', file, '--json'], env).stdout) as {
      envBackups: Array<{ file: string; exists: boolean; usable: boolean }>;
    };
    expect(j.envBackups).toEqual([expect.objectContaining({ file: path, exists: true, usable: true })]);
  });

  it('the application writes on the target after the cutover', async () => {
    await withPg(dbs.targetUrl, (c) =>
      c.query(
        `INSERT INTO public.appointments (note) VALUES ('t1'), ('t2'), ('t3'), ('t4'); DELETE FROM public.appointments WHERE id = 1`,
      ),
    );
  });

  it('status: a failed verification shows as failed, with its differences', () => {
    const v = runCli(['verify', '-c', file], env);
    expect(v.status, v.stderr).toBe(3);
    const ver = line(runCli(['status', '-c', file], env).stdout, /^\s+verification\s/);
    expect(ver).toMatch(/failed \d{4}-\d\d-\d\dT/);
    expect(ver).toMatch(/: 2 tables, [1-9]\d* differences \([1-9]\d* rows in 1 tables, 0 schema objects\)/);
  });

  it('rollback: the closing line counts what the rollback carried (catch-up and carry-back)', async () => {
    const r = runCli(['rollback', '-c', file, '--auto-approve'], env);
    expect(r.status, r.stderr).toBe(0);
    expect(await count(dbs.sourceUrl)).toBe(5006);
    const steps = [...r.stderr.matchAll(/> (catch-up|carry-back): (\d+) rows written, (\d+) deleted/g)];
    expect(steps.length).toBe(2);
    const written = steps.reduce((n, m) => n + Number(m[2]), 0);
    const deleted = steps.reduce((n, m) => n + Number(m[3]), 0);
    expect(written).toBe(4);
    expect(deleted).toBe(1);
    expect(r.stdout).toContain(`Rollback complete! ${written} rows carried back to the source, ${deleted} deleted`);
    expect(readFileSync(envFile, 'utf8')).toContain(`DATABASE_URL=${dbs.sourceUrl}`);
  });

  it('a finished rollback removes the backup it used; status names none', () => {
    // the env file holds the old value again, and no rollback can use the backup any more
    expect(readFileSync(envFile, 'utf8')).toContain(`DATABASE_URL=${dbs.sourceUrl}`);
    expect(backups()).toEqual([]);
    const s = runCli(['status', '-c', file], env);
    expect(s.stdout).not.toContain('.bak');
  });

  it('a leftover backup (as pgshift before left them) is named by status as one no rollback uses', async () => {
    const old = await backupOf('first');
    writeFileSync(old, JSON.stringify({ variable: 'DATABASE_URL', value: dbs.sourceUrl }) + '\n', { mode: 0o600 });
    const s = runCli(['status', '-c', file], env);
    const named = s.stdout.split('\n').find((l) => l.includes(old)) ?? '';
    expect(named).toMatch(/^\s+env backup\s/);
    expect(named).toContain('no rollback uses it');
    const j = JSON.parse(runCli(['status', '-c', file, '--json'], env).stdout) as {
      envBackups: Array<{ file: string; exists: boolean; usable: boolean }>;
    };
    expect(j.envBackups).toEqual([expect.objectContaining({ file: old, exists: true, usable: false })]);
  });

  it('the application is cut over again', () => {
    const cut = runCli(['cutover', '-c', file, '--auto-approve'], env);
    expect(cut.status, cut.stderr).toBe(0);
  });

  it('the new cutover removed the backups of earlier cutovers, keeping its own', async () => {
    expect(existsSync(await backupOf('first'))).toBe(false);
    expect(backups()).toEqual([basename(await backupOf('last'))]);
  });

  it('a rollback killed after its catch-up and resumed: the closing line still counts that catch-up', async () => {
    await withPg(dbs.targetUrl, (c) => c.query(`INSERT INTO public.appointments (note) VALUES ('u1'), ('u2')`));
    const killed = runCli(['rollback', '-c', file, '--auto-approve'], { ...env, PGSHIFT_FAULT_KILL: 'catch-up:after' });
    expect(killed.status).toBeNull(); // SIGKILL
    const r = runCli(['rollback', '-c', file, '--auto-approve'], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('> catch-up:');
    expect(r.stdout).toContain('Rollback complete! 2 rows carried back to the source, 0 deleted');
    expect(await count(dbs.sourceUrl)).toBe(5008);
  });

  it('destroy removes the env backups no rollback can use, and says so', async () => {
    const left = await backupOf('last');
    writeFileSync(left, JSON.stringify({ variable: 'DATABASE_URL', value: dbs.sourceUrl }) + '\n', { mode: 0o600 });
    const d = runCli(['destroy', '-c', file, '--auto-approve'], env);
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toContain(`- file ${left}`);
    expect(d.stdout).toContain('1 env backup removed');
    expect(existsSync(left)).toBe(false);
  });
});

describe('status after an interrupted apply', () => {
  let small: FreshDatabases;
  let smallFile: string;
  let smallEnv: NodeJS.ProcessEnv;
  beforeAll(async () => {
    small = await freshDatabases('status-interrupted');
    await withPg(small.sourceUrl, (c) =>
      c.query(`CREATE TABLE public.big (id int PRIMARY KEY, pad text);
               INSERT INTO public.big SELECT g, repeat('x', 200) FROM generate_series(1, 300000) g`),
    );
    smallEnv = { SOURCE_DATABASE_URL: small.sourceUrl, TARGET_DATABASE_URL: small.targetUrl };
    smallFile = cfg.write(minimalConfig('copy: { batch_size: 200, parallel: 1 }\n'), 'interrupted.yaml');
  });
  afterAll(async () => {
    await small?.drop();
  });

  it('a copy a live apply is doing shows running; after SIGINT (exit 130) it shows interrupted, resumed by the next apply', async () => {
    const child = spawn(process.execPath, [BIN, 'apply', '-c', smallFile, '--auto-approve'], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', ...smallEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let copying = false;
    for (let i = 0; i < 200 && !copying; i++) {
      await new Promise((r) => setTimeout(r, 100));
      copying = await withPg(small.targetUrl, async (c) => {
        if ((await c.query("SELECT to_regclass('pgshift.migration_checkpoints') AS t")).rows[0]?.t === null)
          return false;
        return (
          ((await c.query("SELECT 1 FROM pgshift.migration_checkpoints WHERE status = 'running' AND rows_copied > 0"))
            .rowCount ?? 0) > 0
        );
      });
    }
    expect(copying).toBe(true);
    const live = await runCliAsync(['status', '-c', smallFile], smallEnv);
    expect(line(live.stdout, /public\.big/)).toMatch(/^\s+running\s/);
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);

    const s = runCli(['status', '-c', smallFile], smallEnv);
    const big = line(s.stdout, /public\.big/);
    expect(big).not.toMatch(/^\s+running\s/);
    expect(big).toMatch(/^\s+interrupted\s/);
    expect(big).toContain('the next apply resumes it');
    const j = JSON.parse(runCli(['status', '-c', smallFile, '--json'], smallEnv).stdout) as {
      checkpoints: Array<{ tableName: string; status: string }>;
    };
    expect(j.checkpoints.find((c) => c.tableName === 'big')?.status).toBe('interrupted');
    const resumed = runCli(['apply', '-c', smallFile, '--auto-approve'], smallEnv);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(line(runCli(['status', '-c', smallFile], smallEnv).stdout, /public\.big/)).toMatch(
      /^\s+done\s+public\.big\s+300000 rows copied/,
    );
  });
});
