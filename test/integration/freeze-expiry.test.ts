/**
 * A write freeze always ends. Before the switch it ends by itself on the server at max_write_freeze (a SIGKILL of
 * pgshift inside the freeze costs at most that); the switch makes it permanent first (checked against the deadline
 * on the server); SIGHUP stops a cutover and lifts its freeze; destroy refuses while a freeze pgshift placed is in
 * force, on either side; `pgshift rollback` and `pgshift unlock --freeze` lift one left by a killed run, even with
 * no state left; destroy drops the state before it releases the lock.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freezeStatus, freezeWrites, makeFreezePermanent, unfreezeWrites } from '../../src/cutover/freeze.js';
import { PgshiftError } from '../../src/errors/index.js';
import { BIN, REPO, runCli } from '../e2e/cli.js';
import { CLINIC_SQL } from '../support/clinic.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const PATIENTS = { schema: 'Clinic "One"', name: 'patients' };
const cfg = configDir('freeze-expiry');
const envFile = join(cfg.dir, 'app.env');
let dbs: FreshDatabases;
let env: NodeJS.ProcessEnv;

function config(maxFreeze: string): string {
  return cfg.write(
    minimalConfig(`verify: { checksums: sampled }
cutover:
  strategy: freeze
  max_write_freeze: ${maxFreeze}
  switch:
    env_file: ${envFile}
    variable: DATABASE_URL
    value: \${TARGET_DATABASE_URL}
`),
    `freeze-${maxFreeze}.yaml`,
  );
}

/** An INSERT: true when it went through, false when the freeze refused it (25006). */
async function writable(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(`INSERT INTO "Clinic ""One""".patients (name) VALUES ('probe')`);
    await c.query('ROLLBACK');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '25006') return false;
    throw err;
  } finally {
    await c.end();
  }
}

/** Polls a write until it goes through; the ms it took, or null after `limitMs`. */
async function msUntilWritable(url: string, limitMs: number): Promise<number | null> {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    if (await writable(url)) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pointsAt(): 'source' | 'target' {
  return readFileSync(envFile, 'utf8').includes(`DATABASE_URL=${dbs.targetUrl}`) ? 'target' : 'source';
}

function ok(args: string[], extra: NodeJS.ProcessEnv = {}): string {
  const r = runCli([...args, '--auto-approve'], { ...env, ...extra });
  expect(r.status, `${args.join(' ')}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

function killedAt(args: string[], point: string): number {
  const r = runCli([...args, '--auto-approve'], { ...env, PGSHIFT_FAULT_KILL: point });
  expect(r.status, `${args[0]} at ${point} should have been killed:\n${r.stdout}\n${r.stderr}`).toBeNull();
  return Date.now();
}

/** The advisory lock of pgshift (class 'pgsh') held by some session of the target's database. */
async function lockHeld(): Promise<boolean> {
  return withPg(
    dbs.targetUrl,
    async (c) =>
      (
        await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 1885827944::oid AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        )
      ).rows[0]?.n === 1,
  );
}

beforeAll(async () => {
  dbs = await freshDatabases('freeze_expiry');
  await withPg(dbs.sourceUrl, (c) => c.query(CLINIC_SQL));
  env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
  writeFileSync(envFile, `DATABASE_URL=${dbs.sourceUrl}\n`);
  ok(['apply', '-c', config('60s')]);
}, 120_000);
afterAll(async () => {
  await dbs?.drop();
  cfg.remove();
});

describe('the freeze function carries its deadline', () => {
  it('lets writes through by itself once its deadline passes, with no pgshift session left', async () => {
    await withPg(dbs.sourceUrl, async (c) => {
      const f = await freezeWrites(c, [PATIENTS], {
        id: 'expiry-test',
        drainTimeoutMs: 5_000,
        onDrainTimeout: 'abort',
        expiresInMs: 1_500,
      });
      expect(f.until).toBeInstanceOf(Date);
    });
    expect(await writable(dbs.sourceUrl)).toBe(false);
    const ms = await msUntilWritable(dbs.sourceUrl, 10_000);
    expect(ms).not.toBeNull();
    expect(ms as number).toBeLessThan(1_500 + 2_000);
    await withPg(dbs.sourceUrl, async (c) => {
      expect((await freezeStatus(c)).state).toBe('expired');
      await unfreezeWrites(c, { dropSchema: true });
      expect((await freezeStatus(c)).state).toBe('none');
    });
  });

  it('is made permanent only before its deadline: a freeze past it is refused and stays open', async () => {
    await withPg(dbs.sourceUrl, async (c) => {
      await freezeWrites(c, [PATIENTS], {
        id: 'seal-late',
        drainTimeoutMs: 5_000,
        onDrainTimeout: 'abort',
        expiresInMs: 1_000,
      });
      await sleep(1_300);
      const err = await makeFreezePermanent(c, 'seal-late', [PATIENTS], { side: 'source', budgetMs: 1_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PgshiftError);
      expect((err as PgshiftError).code).toBe('CUTOVER_ABORTED');
      expect((err as PgshiftError).message).toContain('max_write_freeze');
      expect((await freezeStatus(c)).state).toBe('expired');
    });
    expect(await writable(dbs.sourceUrl)).toBe(true);

    await withPg(dbs.sourceUrl, async (c) => {
      await freezeWrites(c, [PATIENTS], {
        id: 'seal-in-time',
        drainTimeoutMs: 5_000,
        onDrainTimeout: 'abort',
        expiresInMs: 1_500,
      });
      await makeFreezePermanent(c, 'seal-in-time', [PATIENTS], { side: 'source', budgetMs: 1_500 });
      await makeFreezePermanent(c, 'seal-in-time', [PATIENTS], { side: 'source', budgetMs: 1_500 }); // idempotent
    });
    await sleep(2_000);
    expect(await writable(dbs.sourceUrl)).toBe(false); // past the old deadline: still frozen
    await withPg(dbs.sourceUrl, async (c) => {
      expect((await freezeStatus(c)).state).toBe('permanent');
      await unfreezeWrites(c, { dropSchema: true });
    });
    expect(await writable(dbs.sourceUrl)).toBe(true);
  });
});

describe('a cutover that dies inside its freeze', () => {
  it('SIGKILL before the switch: the source takes writes again within max_write_freeze plus 2 s, by itself', async () => {
    const killed = killedAt(['cutover', '-c', config('5s')], 'final-sync:before');
    // the process is gone (killed by the signal); the freeze it placed is still in force
    expect(await writable(dbs.sourceUrl)).toBe(false);
    const ms = await msUntilWritable(dbs.sourceUrl, 20_000);
    expect(ms, 'the source never took writes again').not.toBeNull();
    expect(Date.now() - killed).toBeLessThan(5_000 + 2_000);
    // nobody lifted it: the function ended it by itself (its triggers are still there, doing nothing)
    await withPg(dbs.sourceUrl, async (c) => expect((await freezeStatus(c)).state).toBe('expired'));
    expect(pointsAt()).toBe('source');
    // the rollback cleans up and records the cutover as aborted
    const out = ok(['rollback', '-c', config('5s')]);
    expect(out).toContain('write freeze on the source is lifted');
    await withPg(dbs.sourceUrl, async (c) => expect((await freezeStatus(c)).state).toBe('none'));
  }, 120_000);

  it('SIGHUP (a closed SSH session) stops the cutover inside its freeze and lifts it at once: exit 130', async () => {
    const child = spawn(process.execPath, [BIN, 'cutover', '-c', config('60s'), '--auto-approve'], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        CI: 'true',
        ...env,
        PGSHIFT_FAULT_PAUSE: 'final-sync:before:4000',
      },
    });
    let stderr = '';
    const paused = new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('paused at final-sync:before')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await Promise.race([paused, sleep(60_000)]);
    expect(stderr).toContain('paused at final-sync:before');
    expect(await writable(dbs.sourceUrl)).toBe(false); // inside the freeze
    const hup = Date.now();
    child.kill('SIGHUP');
    const code = await exited;
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('Received SIGHUP');
    expect(stderr).toContain('Error [INTERRUPTED]');
    // lifted by pgshift (not by the 60 s deadline): writes at once, and the freeze is gone, not expired
    expect(await writable(dbs.sourceUrl)).toBe(true);
    expect(Date.now() - hup).toBeLessThan(30_000);
    await withPg(dbs.sourceUrl, async (c) => expect((await freezeStatus(c)).state).toBe('none'));
    expect(pointsAt()).toBe('source');
  }, 120_000);

  it('a lost target inside the freeze: the error path lifts the freeze through the source first', async () => {
    const child = spawn(process.execPath, [BIN, 'cutover', '-c', config('60s'), '--auto-approve'], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        CI: 'true',
        ...env,
        PGSHIFT_FAULT_PAUSE: 'final-sync:before:3000',
      },
    });
    let stderr = '';
    const paused = new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('paused at final-sync:before')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await Promise.race([paused, sleep(60_000)]);
    expect(stderr).toContain('paused at final-sync:before');
    expect(await writable(dbs.sourceUrl)).toBe(false);
    // every session of pgshift on the target goes (its state included): the sync, then the state writes, fail
    await withPg(dbs.targetUrl, (c) =>
      c.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      ),
    );
    const lost = Date.now();
    expect(await exited, stderr).toBe(1);
    expect(await writable(dbs.sourceUrl)).toBe(true);
    expect(Date.now() - lost).toBeLessThan(30_000); // well before the 60 s deadline
    await withPg(dbs.sourceUrl, async (c) => expect((await freezeStatus(c)).state).toBe('none'));
    expect(pointsAt()).toBe('source');
    // the state could not record the abort: the next rollback does
    const out = ok(['rollback', '-c', config('60s')]);
    expect(out).toContain('write freeze on the source is lifted');
  }, 120_000);

  it('destroy refuses while the freeze of a killed cutover is in force; `pgshift unlock --freeze` lifts it', async () => {
    killedAt(['cutover', '-c', config('60s')], 'verify:effect');
    expect(await writable(dbs.sourceUrl)).toBe(false);
    const refused = runCli(['destroy', '-c', config('60s'), '--auto-approve', '--force'], env);
    expect(refused.status, refused.stderr).toBe(1);
    expect(refused.stderr).toContain('Error [FREEZE_IN_FORCE]');
    expect(refused.stderr).toContain('source');
    expect(refused.stderr).toContain('pgshift rollback');
    expect(refused.stderr).toContain('pgshift unlock --freeze');
    await withPg(dbs.targetUrl, async (c) =>
      expect((await c.query(`SELECT to_regclass('pgshift.runs') IS NOT NULL AS ok`)).rows[0]).toEqual({ ok: true }),
    );

    const u = runCli(['unlock', '--freeze', '-c', config('60s')], env);
    expect(u.status, u.stderr).toBe(0);
    expect(u.stdout).toContain("source's write freeze (active) is lifted");
    expect(await writable(dbs.sourceUrl)).toBe(true);
    const rec = await withPg(
      dbs.targetUrl,
      async (c) => (await c.query(`SELECT status FROM pgshift.cutover ORDER BY started_at DESC LIMIT 1`)).rows[0],
    );
    expect(rec).toEqual({ status: 'aborted' });
  }, 120_000);
});

describe('after the switch the freeze is permanent', () => {
  it('the source stays frozen past max_write_freeze once cut over; unlock --freeze refuses to open it', async () => {
    const started = Date.now();
    ok(['cutover', '-c', config('5s')]);
    expect(pointsAt()).toBe('target');
    await sleep(Math.max(0, started + 5_000 + 1_000 - Date.now()));
    expect(await writable(dbs.sourceUrl)).toBe(false);
    expect(await writable(dbs.targetUrl)).toBe(true);
    await withPg(dbs.sourceUrl, async (c) => expect((await freezeStatus(c)).state).toBe('permanent'));
    const u = runCli(['unlock', '--freeze', '-c', config('5s')], env);
    expect(u.status).toBe(1);
    expect(u.stderr).toContain('Error [CUTOVER_CUT_OVER]');
    expect(await writable(dbs.sourceUrl)).toBe(false);
  }, 120_000);

  it('a rollback killed inside its target freeze: the target takes writes again within the budget; the next rollback completes', async () => {
    const killed = killedAt(['rollback', '-c', config('5s')], 'carry-back:before');
    expect(await writable(dbs.targetUrl)).toBe(false);
    expect(await msUntilWritable(dbs.targetUrl, 20_000)).not.toBeNull();
    expect(Date.now() - killed).toBeLessThan(5_000 + 2_000);
    expect(await writable(dbs.sourceUrl)).toBe(false); // the source keeps the cutover's freeze
    const started = Date.now();
    ok(['rollback', '-c', config('5s')]);
    expect(pointsAt()).toBe('source');
    expect(await writable(dbs.sourceUrl)).toBe(true);
    // the target's freeze, made permanent at the rollback's switch, outlives its budget on purpose
    await sleep(Math.max(0, started + 5_000 + 1_000 - Date.now()));
    expect(await writable(dbs.targetUrl)).toBe(false);
  }, 120_000);

  it('destroy after a finished rollback ends the target freeze it left on purpose, and drops the state before the lock', async () => {
    // the application is on the source: the old target's freeze goes with the target (refused only while a
    // cutover or a rollback stopped inside its freeze, see above)
    expect(await writable(dbs.targetUrl)).toBe(false);

    const child = spawn(process.execPath, [BIN, 'destroy', '-c', config('5s'), '--auto-approve'], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        CI: 'true',
        ...env,
        PGSHIFT_FAULT_PAUSE: 'destroy-state:effect:3000',
      },
    });
    let stderr = '';
    const paused = new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('paused at destroy-state:effect')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await Promise.race([paused, sleep(60_000)]);
    expect(stderr).toContain('paused at destroy-state:effect');
    // the state is gone and the lock is still held: no other run can start on a state about to vanish
    const gone = await withPg(
      dbs.targetUrl,
      async (c) => (await c.query(`SELECT to_regnamespace('pgshift') IS NULL AS gone`)).rows[0],
    );
    expect(gone).toEqual({ gone: true });
    expect(await lockHeld()).toBe(true);
    expect(await exited, stderr).toBe(0);
    expect(await lockHeld()).toBe(false);
  }, 120_000);
});

describe('with no state left', () => {
  it('`pgshift rollback` and `pgshift unlock --freeze` lift a freeze pgshift left on the source, creating no state', async () => {
    for (const cmd of [
      ['rollback', '--auto-approve'],
      ['unlock', '--freeze'],
    ]) {
      await withPg(dbs.sourceUrl, (c) =>
        freezeWrites(c, [PATIENTS], {
          id: 'orphan',
          drainTimeoutMs: 5_000,
          onDrainTimeout: 'abort',
          expiresInMs: 600_000,
        }),
      );
      expect(await writable(dbs.sourceUrl)).toBe(false);
      const r = runCli([...cmd, '-c', config('5s')], env);
      expect(r.status, `${cmd.join(' ')}: ${r.stderr}`).toBe(0);
      expect(await writable(dbs.sourceUrl)).toBe(true);
      await withPg(dbs.sourceUrl, async (c) => expect((await freezeStatus(c)).state).toBe('none'));
      const state = await withPg(
        dbs.targetUrl,
        async (c) => (await c.query(`SELECT to_regnamespace('pgshift') IS NULL AS gone`)).rows[0],
      );
      expect(state).toEqual({ gone: true });
    }
  }, 120_000);
});
