/**
 * The copy engine end to end: kill -9 at random instants during the copy, then resume; a target restart in the
 * middle of a copy survived by retries; exact content in both cases (row checksums per table, duplicates counted).
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, runCli, runCliAsync } from '../e2e/cli.js';
import { expectSameData, expectSameSchema } from '../support/compare.js';
import { configDir, minimalConfig } from '../support/config.js';
import { copyDatasetSql } from '../support/datasets.js';
import { createDatabase, freshDatabases, quoteIdent, withPg, type FreshDatabases } from '../support/databases.js';
import { EmbeddedPostgres } from '../support/embedded.js';

const cfg = configDir('copy');
afterAll(() => cfg.remove());

function envOf(sourceUrl: string, targetUrl: string): NodeJS.ProcessEnv {
  return { SOURCE_DATABASE_URL: sourceUrl, TARGET_DATABASE_URL: targetUrl };
}

describe('kill -9 during the copy', () => {
  let dbs: FreshDatabases;
  let file: string;
  beforeAll(async () => {
    dbs = await freshDatabases('copy_kill');
    await withPg(dbs.sourceUrl, (c) => c.query(copyDatasetSql(250_000)));
    file = cfg.write(minimalConfig('copy: { batch_size: 1000, parallel: 2 }\n'), 'kill.yaml');
  });
  afterAll(async () => dbs?.drop());

  it('resumes after each of 10+ kills and ends equal to the source, row for row', async () => {
    const env = envOf(dbs.sourceUrl, dbs.targetUrl);
    const log: string[] = [];
    let resumes = 0;
    let kills = 0;
    // a loaded machine starts apply slowly: a kill that left no trace (same actions, none resumed) moves the window
    // later, so the kills land inside the copy wherever the machine's speed puts it; the window is short enough that
    // ten runs cannot copy the whole table between their start (about 0.5 s now) and their kill
    let base = 400;
    let lastActions = -1;
    for (let i = 0; i < 20 && kills < 12; i++) {
      const delay = base + Math.floor(Math.random() * 1500);
      const child = spawn(process.execPath, [BIN, 'apply', '-c', file, '--auto-approve'], {
        cwd: REPO,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', ...env },
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      const code = await exited;
      clearTimeout(timer);
      if (code === 0) {
        log.push(`run ${i}: finished before the kill at ${delay} ms`);
        break;
      }
      kills++;
      const plan = runCli(['plan', '-c', file, '--json'], env);
      expect(plan.status, plan.stderr).toBe(0);
      const actions = (JSON.parse(plan.stdout) as { actions: { address: string; change: string; reason: string }[] })
        .actions;
      const resumed = actions.filter((a) => a.change === 'resume');
      resumes += resumed.length;
      if (resumed.length === 0 && actions.length === lastActions) base += 1000;
      lastActions = actions.length;
      log.push(
        `kill ${kills} at ${delay} ms: ${actions.length} actions, ${resumed.length} resume (${resumed.map((a) => `${a.address}: ${a.reason}`).join('; ')})`,
      );
    }
    expect(kills, log.join('\n')).toBeGreaterThanOrEqual(10);
    expect(resumes, log.join('\n')).toBeGreaterThan(0);
    const final = runCli(['apply', '-c', file, '--auto-approve'], env);
    expect(final.status, `${final.stderr}\n${log.join('\n')}`).toBe(0);
    await expectSameSchema(dbs.sourceUrl, dbs.targetUrl);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);
    const again = runCli(['plan', '-c', file, '--detailed-exitcode'], env);
    expect(again.status, again.stdout).toBe(0);
    // the state says every unit is done, with the source's row counts
    const units = await withPg(
      dbs.targetUrl,
      async (c) =>
        (
          await c.query<{ unit: string; status: string; rows_copied: string }>(
            'SELECT unit, status, rows_copied FROM pgshift.migration_checkpoints ORDER BY unit',
          )
        ).rows,
    );
    expect(units.every((u) => u.status === 'done')).toBe(true);
    expect(units.find((u) => u.unit === 'copy data.patients')?.rows_copied).toBe('250000');
  }, 180_000); // up to 20 runs of apply and plan: past the default 60 s on loaded cores
});

describe('a target restart in the middle of a copy', () => {
  let dbs: FreshDatabases;
  let target: EmbeddedPostgres;
  beforeAll(async () => {
    dbs = await freshDatabases('copy_restart');
    await withPg(dbs.sourceUrl, (c) => c.query(copyDatasetSql(150_000)));
    target = new EmbeddedPostgres({ major: 17 });
    await target.init();
    await target.start();
    await createDatabase(target.url('postgres'), 'restart_target');
  });
  afterAll(async () => {
    await dbs?.drop();
    await target?.dispose();
  });

  it('is survived by retries, with the same exact result', async () => {
    const targetUrl = target.url('restart_target');
    const file = cfg.write(
      minimalConfig('copy: { batch_size: 1000, parallel: 2 }\nconnection: { retry: { attempts: 20, max_wait: 1s } }\n'),
      'restart.yaml',
    );
    const env = envOf(dbs.sourceUrl, targetUrl);
    const running = runCliAsync(['apply', '-c', file, '--auto-approve', '--log-format', 'json'], env);
    // wait until rows are being copied, then restart the target under the running apply
    for (let i = 0; i < 200; i++) {
      const copied = await withPg(targetUrl, async (c) => {
        const r = await c
          .query(
            "SELECT coalesce(sum(rows_copied), 0)::int AS n FROM pgshift.migration_checkpoints WHERE to_regclass('pgshift.migration_checkpoints') IS NOT NULL",
          )
          .catch(() => ({ rows: [{ n: 0 }] }));
        return (r.rows[0] as { n: number }).n;
      }).catch(() => 0);
      if (copied > 5000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await target.stop();
    await new Promise((r) => setTimeout(r, 1000));
    await target.start();
    const r = await running;
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toMatch(/retrying/);
    await expectSameData(dbs.sourceUrl, targetUrl);
    await expectSameSchema(dbs.sourceUrl, targetUrl);
  });
});

describe('while an apply runs', () => {
  let dbs: FreshDatabases;
  beforeAll(async () => {
    dbs = await freshDatabases('copy_status');
    await withPg(dbs.sourceUrl, (c) => c.query(copyDatasetSql(200_000)));
  });
  afterAll(async () => dbs?.drop());

  it('status shows per-table progress and the lock holder from another process', async () => {
    const env = envOf(dbs.sourceUrl, dbs.targetUrl);
    const file = cfg.write(minimalConfig('copy: { batch_size: 1000, parallel: 1 }\n'), 'status.yaml');
    const running = runCliAsync(['apply', '-c', file, '--auto-approve'], env);
    interface StatusView {
      lock: { command: string; alive: boolean } | null;
      checkpoints: { unit: string; status: string; rowsCopied: number }[];
    }
    let seen: StatusView | undefined;
    for (let i = 0; i < 300 && !seen; i++) {
      const s = runCli(['status', '-c', file, '--json'], env);
      if (s.status === 0) {
        const view = JSON.parse(s.stdout) as StatusView;
        if (view.lock && view.checkpoints.some((c) => c.status === 'running' && c.rowsCopied > 0)) seen = view;
      }
    }
    const done = await running;
    expect(done.status, done.stderr).toBe(0);
    expect(seen, 'status never saw a unit in progress').toBeDefined();
    expect(seen?.lock).toMatchObject({ command: 'apply', alive: true });
    const text = runCli(['status', '-c', file], env);
    expect(text.stdout).toMatch(/done\s+data\.patients\s+200000 rows/);
  });

  it('never opens more sessions than the target role may: fewer workers, same result', async () => {
    const small = await freshDatabases('copy_capped');
    try {
      await withPg(small.sourceUrl, (c) => c.query(copyDatasetSql(2_000, 'capped')));
      const target = new URL(small.targetUrl);
      await withPg(small.targetUrl, async (c) => {
        await c.query(`CREATE ROLE pgshift_capped LOGIN PASSWORD 'capped-pw-123' CONNECTION LIMIT 3`);
        await c.query(`GRANT CREATE ON DATABASE ${quoteIdent(small.name)} TO pgshift_capped`);
      });
      target.username = 'pgshift_capped';
      target.password = 'capped-pw-123';
      const file = cfg.write(minimalConfig('copy: { batch_size: 500, parallel: 4 }\n'), 'capped.yaml');
      const r = runCli(
        ['apply', '-c', file, '--auto-approve', '--log-format', 'json'],
        envOf(small.sourceUrl, target.toString()),
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain('fewer workers than copy.parallel');
      await expectSameData(small.sourceUrl, small.targetUrl);
    } finally {
      await small.drop();
    }
  });
});

describe('a value the target rejects', () => {
  let dbs: FreshDatabases;
  beforeAll(async () => {
    dbs = await freshDatabases('copy_reject');
    await withPg(dbs.sourceUrl, (c) => c.query(copyDatasetSql(3_000)));
    // the same table on the target, stricter than the source: pgshift reports it as drift and copies into it
    await withPg(dbs.targetUrl, (c) =>
      c.query(
        `CREATE SCHEMA data; CREATE TABLE data.codes (code text PRIMARY KEY, label text CHECK (label <> 'label 444'))`,
      ),
    );
  });
  afterAll(async () => dbs?.drop());

  it('stops that unit with the table, the range and the masked server message; the other units go on', async () => {
    const env = envOf(dbs.sourceUrl, dbs.targetUrl);
    const file = cfg.write(minimalConfig('copy: { batch_size: 100, parallel: 2 }\n'), 'reject.yaml');
    const plan = runCli(['plan', '-c', file], env);
    expect(plan.stdout).toContain(
      'Warning [OBJECT_DRIFT]: table data.codes exists on the target with a different definition',
    );
    const r = runCli(['apply', '-c', file, '--auto-approve', '--log-format', 'json'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /Error \[ACTION_FAILED\]: .*copy data\.codes: the target rejected a row in the batch after \d+ rows: check violation, constraint "codes_label_check", table "data\.codes" \(SQLSTATE 23514\)/,
    );
    expect(r.stderr).not.toContain('label 444');
    const done = await withPg(dbs.targetUrl, async (c) =>
      (
        await c.query<{ unit: string; status: string }>(
          "SELECT unit, status FROM pgshift.migration_checkpoints WHERE status = 'done' ORDER BY unit",
        )
      ).rows.map((x) => x.unit),
    );
    expect(done).toContain('copy data.patients');
    expect(done).not.toContain('copy data.codes');
  });
});
