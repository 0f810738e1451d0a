/**
 * pgshift cutover: catch-up and final sync carry every insert, update and delete made on the live source after
 * the copy (keyed, keyless, through FKs and user triggers), sequences follow, the env file is switched atomically
 * with the old value kept in a 0600 backup, the source refuses writes afterwards; a freeze that would pass
 * max_write_freeze or cannot drain in-flight writers aborts and changes nothing.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { runCutover } from '../../src/cutover/cutover.js';
import { runRollback } from '../../src/cutover/rollback.js';
import type { PgshiftError } from '../../src/errors/index.js';
import { runCli, runCliAsync } from '../e2e/cli.js';
import { expectSameData } from '../support/compare.js';
import { CLINIC_SQL, LIVE_CHANGES_SQL } from '../support/clinic.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, quoteIdent, withPg, type FreshDatabases } from '../support/databases.js';

const PATIENT_COUNT = 'SELECT count(*)::int AS n FROM "Clinic ""One""".patients';
const cfg = configDir('cutover');
let dbs: FreshDatabases;
let env: NodeJS.ProcessEnv;

function config(extra: string, maxFreeze = '30s'): string {
  const envFile = join(cfg.dir, 'app.env');
  return cfg.write(
    minimalConfig(`copy: { batch_size: 700 }
verify: { checksums: full }
cutover:
  strategy: freeze # this file covers the catch-up and final sync by rescanning; stream: stream-cutover.test.ts
  max_write_freeze: ${maxFreeze}
  switch:
    env_file: ${envFile}
    variable: DATABASE_URL
    value: \${TARGET_DATABASE_URL}
    command: "echo reloaded >> ${join(cfg.dir, 'hook.log')}"
${extra}`),
    'cutover.yaml',
  );
}

async function sourceWriteFails(url: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`INSERT INTO "Clinic ""One""".patients (name) VALUES ('stray')`);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  dbs = await freshDatabases('cutover');
  await withPg(dbs.sourceUrl, (c) => c.query(CLINIC_SQL));
  env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
});
afterAll(async () => {
  await dbs?.drop();
  cfg.remove();
});

describe('pgshift cutover', () => {
  it('refuses to start before anything was applied, naming the next step', () => {
    const r = runCli(['cutover', '-c', config(''), '--auto-approve'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Error [CUTOVER_NOT_READY]');
    expect(r.stderr).toContain('pgshift apply');
  });

  it('aborts when in-flight writes do not drain in time, and changes nothing', async () => {
    const file = config('  drain_timeout: 300ms\n');
    const applied = runCli(['apply', '-c', file, '--auto-approve'], env);
    expect(applied.status, applied.stderr).toBe(0);
    writeFileSync(join(cfg.dir, 'app.env'), `# the app\nDATABASE_URL=${dbs.sourceUrl}\nOTHER=1\n`);
    const holder = new pg.Client({ connectionString: dbs.sourceUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`UPDATE "Clinic ""One""".patients SET notes = 'in flight' WHERE id = 1`);
      const r = await runCliAsync(['cutover', '-c', file, '--auto-approve'], env);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain('Error [CUTOVER_ABORTED]');
      expect(r.stderr).toContain('in flight');
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    expect(await sourceWriteFails(dbs.sourceUrl)).toBeUndefined();
    expect(readFileSync(join(cfg.dir, 'app.env'), 'utf8')).toContain(`DATABASE_URL=${dbs.sourceUrl}`);
    const row = await withPg(
      dbs.targetUrl,
      async (c) =>
        (await c.query<{ status: string }>('SELECT status FROM pgshift.cutover ORDER BY started_at DESC LIMIT 1'))
          .rows[0],
    );
    expect(row?.status).toBe('aborted');
    const triggers = await withPg(
      dbs.sourceUrl,
      async (c) => (await c.query(`SELECT 1 FROM pg_trigger WHERE tgname = 'pgshift_write_freeze'`)).rowCount,
    );
    expect(triggers).toBe(0);
  });

  it('aborts before the switch when the freeze would pass max_write_freeze', async () => {
    // below the 1 s the config accepts: the budget is spent by the time the final sync starts
    const base = loadConfig(config(''), env);
    const tight = { ...base, cutover: { ...base.cutover, maxWriteFreezeMs: 1 } };
    const err = await runCutover(tight, { confirm: async () => true }).then(
      () => undefined,
      (e: unknown) => e as PgshiftError,
    );
    expect(err?.code).toBe('CUTOVER_ABORTED');
    expect(err?.message).toContain('max_write_freeze');
    expect(readFileSync(join(cfg.dir, 'app.env'), 'utf8')).toContain(`DATABASE_URL=${dbs.sourceUrl}`);
    expect(await sourceWriteFails(dbs.sourceUrl)).toBeUndefined();
  });

  it('carries every change made after the copy, switches the env file, and leaves the source frozen', async () => {
    expect(await sourceWriteFails(dbs.sourceUrl)).toBeUndefined(); // the aborted cutovers left it writable
    await withPg(dbs.sourceUrl, (c) => c.query(LIVE_CHANGES_SQL));
    const count = async (): Promise<unknown> =>
      withPg(dbs.sourceUrl, async (c) => (await c.query(PATIENT_COUNT)).rows[0]);
    const before = await count();
    const file = config('');
    const r = runCli(['cutover', '-c', file, '--auto-approve'], env);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    for (const line of [
      '> freeze writes on source',
      '> final sync',
      '> sync sequences',
      '> verify',
      '> switch DATABASE_URL',
    ])
      expect(r.stdout).toContain(line);
    expect(r.stdout).toContain('Cutover complete!');
    expect(r.stdout + r.stderr).not.toContain(dbs.targetUrl); // the password-bearing URL never printed

    await expectSameData(dbs.sourceUrl, dbs.targetUrl, { ignoreTargetOnly: true });
    const seq = async (url: string): Promise<unknown> =>
      withPg(
        url,
        async (c) => (await c.query(`SELECT last_value, is_called FROM "Clinic ""One""".patients_id_seq`)).rows[0],
      );
    expect(await seq(dbs.targetUrl)).toEqual(await seq(dbs.sourceUrl));

    const envText = readFileSync(join(cfg.dir, 'app.env'), 'utf8');
    expect(envText).toBe(`# the app\nDATABASE_URL=${dbs.targetUrl}\nOTHER=1\n`);
    const row = await withPg(
      dbs.targetUrl,
      async (c) =>
        (
          await c.query<{ status: string; freeze_ms: number; backup_file: string; steps: Array<{ step: string }> }>(
            `SELECT status, freeze_ms, backup_file, steps FROM pgshift.cutover WHERE direction = 'cutover' ORDER BY started_at DESC LIMIT 1`,
          )
        ).rows[0],
    );
    expect(row?.status).toBe('done');
    expect(row?.freeze_ms).toBeGreaterThan(0);
    expect(row?.freeze_ms).toBeLessThan(30_000);
    expect(row?.steps.map((s) => s.step)).toEqual([
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
    expect(statSync(row?.backup_file as string).mode & 0o777).toBe(0o600);
    expect(readFileSync(row?.backup_file as string, 'utf8')).toContain(dbs.sourceUrl);
    expect(readFileSync(join(cfg.dir, 'hook.log'), 'utf8')).toBe('reloaded\n');
    // nothing in the state holds the old URL (its password)
    const state = await withPg(dbs.targetUrl, async (c) =>
      JSON.stringify((await c.query('SELECT * FROM pgshift.cutover')).rows),
    );
    expect(state).not.toContain(new URL(dbs.sourceUrl).password || 'unused-password-marker');

    expect(await sourceWriteFails(dbs.sourceUrl)).toBe('25006');
    expect(await count()).toEqual(before); // reads go on, the stray write did not land

    const again = runCli(['cutover', '-c', file, '--auto-approve'], env);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('Already cut over');
    expect(existsSync(join(cfg.dir, 'hook.log'))).toBe(true);
  });

  it('destroy refuses while the application is cut over to the target', () => {
    const r = runCli(['destroy', '-c', config(''), '--auto-approve'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Error [CUTOVER_CUT_OVER]');
    expect(r.stderr).toContain('pgshift rollback');
  });
});

describe('pgshift rollback', () => {
  it('refuses past the rollback window, and when the source could not hold what the target has', async () => {
    const base = loadConfig(config(''), env);
    const late = await runRollback(
      { ...base, cutover: { ...base.cutover, rollbackWindowMs: 1 } },
      { confirm: async () => true },
    ).then(
      () => undefined,
      (e: unknown) => e as PgshiftError,
    );
    expect(late?.code).toBe('ROLLBACK_REFUSED');
    expect(late?.hint).toContain('--force');
    await withPg(dbs.targetUrl, (c) => c.query(`ALTER TABLE "Clinic ""One""".patients ADD COLUMN allergy text`));
    const r = runCli(['rollback', '-c', config(''), '--auto-approve'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Error [ROLLBACK_REFUSED]');
    expect(r.stderr).toContain('column Clinic "One".patients.allergy');
    await withPg(dbs.targetUrl, (c) => c.query(`ALTER TABLE "Clinic ""One""".patients DROP COLUMN allergy`));
  });

  it('carries what the application wrote on the target back to the source, and points the app at the source again', async () => {
    // the application, now on the target, writes
    await withPg(dbs.targetUrl, (c) =>
      c.query(`
        INSERT INTO "Clinic ""One""".patients (name) SELECT 'after cutover ' || g FROM generate_series(1, 20) g;
        UPDATE "Clinic ""One""".patients SET notes = 'edited on the target' WHERE id % 89 = 0;
        DELETE FROM "Clinic ""One""".visits WHERE id % 103 = 0;
        INSERT INTO "Clinic ""One""".events VALUES ('on target', NULL);`),
    );
    const r = runCli(['rollback', '-c', config(''), '--auto-approve'], env);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    for (const line of [
      '> freeze writes on target',
      '> carry back',
      '> unfreeze the source',
      '> switch DATABASE_URL back',
    ])
      expect(r.stdout).toContain(line);
    expect(r.stdout).toContain('Rollback complete!');
    await expectSameData(dbs.sourceUrl, dbs.targetUrl, { ignoreTargetOnly: true });
    const seq = async (url: string): Promise<unknown> =>
      withPg(url, async (c) => (await c.query(`SELECT last_value FROM "Clinic ""One""".patients_id_seq`)).rows[0]);
    expect(await seq(dbs.sourceUrl)).toEqual(await seq(dbs.targetUrl));
    expect(readFileSync(join(cfg.dir, 'app.env'), 'utf8')).toBe(`# the app\nDATABASE_URL=${dbs.sourceUrl}\nOTHER=1\n`);
    expect(readFileSync(join(cfg.dir, 'hook.log'), 'utf8')).toBe('reloaded\nreloaded\n');
    expect(await sourceWriteFails(dbs.sourceUrl)).toBeUndefined(); // the source takes writes again
    expect(await sourceWriteFails(dbs.targetUrl)).toBe('25006'); // the target refuses stray writes
    const audit = await withPg(
      dbs.targetUrl,
      async (c) =>
        (
          await c.query<{ command: string; outcome: string }>(
            'SELECT command, outcome FROM pgshift.audit_log ORDER BY seq',
          )
        ).rows,
    );
    expect(audit.filter((a) => a.command === 'cutover').map((a) => a.outcome)).toContain('done');
    expect(audit.at(-1)).toEqual({ command: 'rollback', outcome: 'done' });
    const again = runCli(['rollback', '-c', config(''), '--auto-approve'], env);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('Nothing to roll back');
  });

  it('a second cutover after the rollback lifts the target freeze and catches up', async () => {
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`INSERT INTO "Clinic ""One""".patients (name) VALUES ('back on the source')`),
    );
    const r = runCli(['cutover', '-c', config(''), '--auto-approve'], env);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl, { ignoreTargetOnly: true });
    expect(readFileSync(join(cfg.dir, 'app.env'), 'utf8')).toContain(`DATABASE_URL=${dbs.targetUrl}`);
    expect(await sourceWriteFails(dbs.targetUrl)).toBeUndefined(); // the target takes the application's writes
  });

  it('a rollback aborted by in-flight writes on the target leaves a state the next rollback completes', async () => {
    const holder = new pg.Client({ connectionString: dbs.targetUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`UPDATE "Clinic ""One""".patients SET notes = 'in flight on the target' WHERE id = 1`);
      const r = await runCliAsync(['rollback', '-c', config('  drain_timeout: 300ms\n'), '--auto-approve'], env);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain('Error [CUTOVER_ABORTED]');
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    expect(await sourceWriteFails(dbs.targetUrl)).toBeUndefined(); // the application on the target writes again
    expect(readFileSync(join(cfg.dir, 'app.env'), 'utf8')).toContain(`DATABASE_URL=${dbs.targetUrl}`);
    const again = runCli(['rollback', '-c', config(''), '--auto-approve'], env);
    expect(again.status, again.stderr + again.stdout).toBe(0);
    expect(again.stdout).toContain('Rollback complete!');
    await expectSameData(dbs.sourceUrl, dbs.targetUrl, { ignoreTargetOnly: true });
    expect(readFileSync(join(cfg.dir, 'app.env'), 'utf8')).toContain(`DATABASE_URL=${dbs.sourceUrl}`);
    expect(await sourceWriteFails(dbs.sourceUrl)).toBeUndefined();
  });
});

describe('cutover.mode: auto', () => {
  it('apply goes on to cut over once the copy is verified', async () => {
    const fresh = await freshDatabases('cutover_auto');
    const dir = configDir('cutover-auto');
    try {
      await withPg(fresh.sourceUrl, (c) =>
        c.query(
          'CREATE TABLE visits (id int PRIMARY KEY, at timestamptz); INSERT INTO visits SELECT g, now() FROM generate_series(1, 500) g',
        ),
      );
      const e = { SOURCE_DATABASE_URL: fresh.sourceUrl, TARGET_DATABASE_URL: fresh.targetUrl };
      const appEnv = join(dir.dir, 'app.env');
      writeFileSync(appEnv, `DATABASE_URL=${fresh.sourceUrl}\n`);
      const f = dir.write(
        minimalConfig(
          `cutover:\n  mode: auto\n  switch:\n    env_file: ${appEnv}\n    variable: DATABASE_URL\n    value: \${TARGET_DATABASE_URL}\n`,
        ),
      );
      const r = runCli(['apply', '-c', f, '--auto-approve'], e);
      expect(r.status, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toContain('Apply complete!');
      expect(r.stdout).toContain('> freeze writes on source');
      expect(r.stdout).toContain('Cutover complete!');
      expect(readFileSync(appEnv, 'utf8')).toBe(`DATABASE_URL=${fresh.targetUrl}\n`);
      // apply again (a CI job re-running): the application is on the target, which pgshift no longer changes
      const again = runCli(['apply', '-c', f, '--auto-approve', '--json'], e);
      expect(again.status, again.stderr).toBe(1);
      expect(again.stderr).toContain('Error [CUTOVER_CUT_OVER]');
    } finally {
      await fresh.drop();
      dir.remove();
    }
  });
});

describe('pgshift doctor and the cutover', () => {
  it('says long before the cutover whether the source role could freeze writes', async () => {
    const fresh = await freshDatabases('cutover_doctor');
    const dir = configDir('cutover-doctor');
    const role = `pgshift_reader_${Date.now().toString(36)}`;
    try {
      await withPg(fresh.sourceUrl, (c) => c.query(CLINIC_SQL));
      const f = dir.write(minimalConfig(''));
      const ok = runCli(['doctor', '-c', f, '--json'], {
        SOURCE_DATABASE_URL: fresh.sourceUrl,
        TARGET_DATABASE_URL: fresh.targetUrl,
      });
      const ready = (
        JSON.parse(ok.stdout) as { checks: Array<{ code?: string; status: string; message: string }> }
      ).checks.find((c) => c.code?.startsWith('CUTOVER_FREEZE'));
      expect(ready).toMatchObject({ code: 'CUTOVER_FREEZE_READY', status: 'ok' });
      await withPg(fresh.sourceUrl, (c) =>
        c.query(`CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD 'reader-pw-1'; GRANT USAGE ON SCHEMA "Clinic ""One""" TO ${quoteIdent(role)};
                 GRANT SELECT ON ALL TABLES IN SCHEMA "Clinic ""One""" TO ${quoteIdent(role)}; REVOKE CREATE ON DATABASE ${quoteIdent(fresh.name)} FROM PUBLIC`),
      );
      const u = new URL(fresh.sourceUrl);
      u.username = role;
      u.password = 'reader-pw-1';
      const r = runCli(['doctor', '-c', f, '--json'], {
        SOURCE_DATABASE_URL: u.toString(),
        TARGET_DATABASE_URL: fresh.targetUrl,
      });
      const check = (
        JSON.parse(r.stdout) as { checks: Array<{ code?: string; status: string; message: string }> }
      ).checks.find((c) => c.code?.startsWith('CUTOVER_FREEZE'));
      expect(check).toMatchObject({ code: 'CUTOVER_FREEZE_PRIVILEGES', status: 'warn' });
      expect(check?.message).toContain('no TRIGGER privilege (nor ownership) on 3 migrated table(s)');
      expect(check?.message).toContain('no CREATE privilege on the database');
    } finally {
      await fresh.drop();
      await withPg(fresh.sourceUrl.replace(/\/[^/?]+(\?|$)/, '/postgres$1'), (c) =>
        c.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`),
      ).catch(() => undefined);
      dir.remove();
    }
  });
});
