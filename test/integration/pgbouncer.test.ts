/**
 * A real pgbouncer (Debian package) in front of the harness target, standing in for Supabase's transaction
 * pooler on any port: refused as the migration connection by plan, apply and verify, and by every command that takes
 * the lock or places a freeze (cutover, rollback, destroy, unlock) before it does (CONNECT_POOLER_TRANSACTION_MODE,
 * exit 1), never confused with a direct connection or a session-mode pooler, and accepted as the application's URL
 * by the cutover health check. Skipped, with the reason printed, when pgbouncer is not installed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkApplicationUrl } from '../../src/cutover/health.js';
import { DEFAULT_SESSION } from '../../src/db/connect.js';
import { resolveEndpoint } from '../../src/db/endpoint.js';
import { probePooling } from '../../src/db/pooler.js';
import { runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { qualified } from '../../src/db/ident.js';
import { freshDatabases, quoteIdent, type FreshDatabases, withPg } from '../support/databases.js';
import { type Pgbouncer, pgbouncerMissingReason, startPgbouncer } from '../support/pgbouncer.js';

const missing = pgbouncerMissingReason();
if (missing) console.warn(`test/integration/pgbouncer.test.ts skipped: ${missing}`);

const HOSTILE = { schema: 'app data', name: 'we"ird.patients' };

const endpoint = (url: string): ReturnType<typeof resolveEndpoint> =>
  resolveEndpoint({
    side: 'target',
    url,
    provider: 'postgres',
    sslMode: undefined,
    caFile: undefined,
    extensionSchema: undefined,
  });

describe.skipIf(missing !== null)(`pgbouncer${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const cfg = configDir('pgbouncer');
  let dbs: FreshDatabases;
  let tx: Pgbouncer;
  let session: Pgbouncer;
  let password: string;

  beforeAll(async () => {
    dbs = await freshDatabases('pgbouncer');
    password = decodeURIComponent(new URL(dbs.targetUrl).password);
    for (const url of [dbs.sourceUrl, dbs.targetUrl]) {
      await withPg(url, async (c) => {
        await c.query(`CREATE SCHEMA ${quoteIdent(HOSTILE.schema)}`);
        await c.query(`CREATE TABLE ${qualified(HOSTILE.schema, HOSTILE.name)} (id int PRIMARY KEY, note text)`);
        await c.query(
          `INSERT INTO ${qualified(HOSTILE.schema, HOSTILE.name)} SELECT g, 'row ' || g FROM generate_series(1, 50) g`,
        );
      });
    }
    [tx, session] = await Promise.all([
      startPgbouncer({ upstreamUrl: dbs.targetUrl, poolMode: 'transaction', poolSize: 4 }),
      startPgbouncer({ upstreamUrl: dbs.targetUrl, poolMode: 'session', poolSize: 8 }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([tx?.stop(), session?.stop()]);
    await dbs?.drop();
    cfg.remove();
  });

  it('the probe sees transaction pooling through pgbouncer in transaction mode', async () => {
    const probe = await probePooling(endpoint(tx.url()), DEFAULT_SESSION);
    expect(probe.pooling, tx.logTail()).toBe('transaction');
    expect(probe.evidence).toMatch(/backend/);
  });

  it('the probe sees it too when pgbouncer hands out server connections in turn (server_round_robin), whatever the pool size', async () => {
    for (const poolSize of [1, 2, 3]) {
      const rr = await startPgbouncer({
        upstreamUrl: dbs.targetUrl,
        poolMode: 'transaction',
        poolSize,
        settings: { server_round_robin: 1 },
      });
      try {
        // open poolSize server connections first, so that the probe meets a pool that can rotate
        await Promise.all(
          Array.from({ length: poolSize }, () => withPg(rr.url(), (c) => c.query('SELECT pg_sleep(0.2)'))),
        );
        const probe = await probePooling(endpoint(rr.url()), DEFAULT_SESSION);
        expect(probe.pooling, `pool size ${poolSize}: ${probe.evidence}\n${rr.logTail()}`).toBe('transaction');
      } finally {
        await rr.stop();
      }
    }
  });

  it('the probe accepts direct connections, many at once next to busy sessions, and pgbouncer in session mode', async () => {
    // other sessions open and working on the same server while eight probes run at once
    const busy = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const c = new pg.Client({ connectionString: dbs.targetUrl });
        await c.connect();
        return c;
      }),
    );
    try {
      const load = Promise.all(busy.map((c) => c.query('SELECT pg_sleep(0.3), pg_backend_pid()')));
      const probes = await Promise.all(
        Array.from({ length: 8 }, () => probePooling(endpoint(dbs.targetUrl), DEFAULT_SESSION)),
      );
      await load;
      expect(probes.map((p) => p.pooling)).toEqual(Array(8).fill('session'));
    } finally {
      await Promise.all(busy.map((c) => c.end()));
    }
    const viaSessionPooler = await Promise.all(
      Array.from({ length: 3 }, () => probePooling(endpoint(session.url()), DEFAULT_SESSION)),
    );
    expect(
      viaSessionPooler.map((p) => p.pooling),
      session.logTail(),
    ).toEqual(['session', 'session', 'session']);
  });

  it('plan, apply and verify refuse the pgbouncer URL as the migration connection (exit 1, CONNECT_POOLER_TRANSACTION_MODE), on any port', async () => {
    const file = cfg.write(minimalConfig(), 'pooled.yaml');
    const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: tx.url() };
    expect(tx.port).not.toBe(6543);
    for (const args of [
      ['plan', '-c', file],
      ['plan', '-c', file, '--json'],
      ['apply', '-c', file, '--auto-approve'],
      ['verify', '-c', file],
    ]) {
      const r = runCli(args, env);
      expect(r.status, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(1);
      expect(r.stderr).toContain('Error [CONNECT_POOLER_TRANSACTION_MODE]');
      expect(r.stderr).toMatch(/transaction \(or statement\) mode/);
      expect(r.stderr).toMatch(/Hint: .*session mode/);
      expect(r.stdout + r.stderr).not.toContain(password);
    }
    // nothing was written to the target: not even pgshift's state schema
    const state = await withPg(dbs.targetUrl, (c) => c.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'pgshift'`));
    expect(state.rowCount).toBe(0);
    // the same target reached directly plans fine
    const direct = runCli(['plan', '-c', file], {
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: dbs.targetUrl,
    });
    expect(direct.status, direct.stderr).toBe(0);
  });

  it('cutover, rollback, destroy and unlock refuse the pgbouncer URL (exit 1, CONNECT_POOLER_TRANSACTION_MODE) before taking the lock or freezing', async () => {
    const pair = await freshDatabases('pgbouncer_lockers');
    try {
      await withPg(pair.sourceUrl, async (c) => {
        await c.query(`CREATE SCHEMA ${quoteIdent(HOSTILE.schema)}`);
        await c.query(`CREATE TABLE ${qualified(HOSTILE.schema, HOSTILE.name)} (id int PRIMARY KEY, note text)`);
        await c.query(
          `INSERT INTO ${qualified(HOSTILE.schema, HOSTILE.name)} SELECT g, 'row ' || g FROM generate_series(1, 100) g`,
        );
      });
      const file = cfg.write(minimalConfig(), 'lockers.yaml');
      const direct = { SOURCE_DATABASE_URL: pair.sourceUrl, TARGET_DATABASE_URL: pair.targetUrl };
      const applied = runCli(['apply', '-c', file, '--auto-approve'], direct);
      expect(applied.status, applied.stderr).toBe(0);
      // the holder row a dead run leaves: what unlock would remove
      const LOCK_ID = '0123456789abcdef';
      await withPg(pair.targetUrl, (c) =>
        c.query(
          `INSERT INTO pgshift.lock (id, lock_id, run_id, command, operator, host, os_pid, backend_pid) VALUES (1, $1, 'dead-run', 'apply', 'someone', 'somewhere', 1, 1)`,
          [LOCK_ID],
        ),
      );
      const snapshot = async (): Promise<string> => {
        const target = await withPg(pair.targetUrl, async (c) =>
          JSON.stringify([
            (await c.query('SELECT lock_id, run_id FROM pgshift.lock')).rows,
            (await c.query('SELECT address FROM pgshift.objects ORDER BY address')).rows,
            (await c.query('SELECT count(*)::int AS n FROM pgshift.cutover')).rows,
            (await c.query(`SELECT count(*)::int AS n FROM ${qualified(HOSTILE.schema, HOSTILE.name)}`)).rows,
          ]),
        );
        // no write freeze on the source: neither its schema nor its triggers
        const source = await withPg(pair.sourceUrl, async (c) =>
          JSON.stringify([
            (await c.query(`SELECT nspname FROM pg_namespace WHERE nspname = 'pgshift'`)).rows,
            (await c.query(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal`)).rows,
          ]),
        );
        return `${target}\n${source}`;
      };
      const before = await snapshot();
      const pooled = { SOURCE_DATABASE_URL: pair.sourceUrl, TARGET_DATABASE_URL: tx.url(pair.name) };
      const pooledSource = { SOURCE_DATABASE_URL: tx.url(pair.name), TARGET_DATABASE_URL: pair.targetUrl };
      const runs: Array<[string[], NodeJS.ProcessEnv]> = [
        [['cutover', '-c', file, '--auto-approve'], pooled],
        [['cutover', '-c', file, '--auto-approve'], pooledSource], // the freeze goes on the source: it is checked too
        [['rollback', '-c', file, '--auto-approve'], pooled],
        [['rollback', '-c', file, '--auto-approve'], pooledSource],
        [['destroy', '-c', file, '--auto-approve'], pooled],
        [['unlock', LOCK_ID, '-c', file], pooled],
      ];
      for (const [args, env] of runs) {
        const r = runCli(args, env);
        const what = `${args.join(' ')} (${env === pooled ? 'target' : 'source'} pooled)\n${r.stdout}\n${r.stderr}`;
        expect(r.status, what).toBe(1);
        expect(r.stderr, what).toContain('Error [CONNECT_POOLER_TRANSACTION_MODE]');
        expect(r.stderr, what).toMatch(/Hint: .*session mode/);
        expect(r.stdout + r.stderr).not.toContain(password);
        // refused before anything: no lock taken or released, no cutover record, nothing dropped, no freeze
        expect(await snapshot(), what).toBe(before);
      }
      // the same commands reach the target directly: unlock releases the dead run's lock
      const unlocked = runCli(['unlock', LOCK_ID, '-c', file], direct);
      expect(unlocked.status, unlocked.stderr).toBe(0);
      expect(await withPg(pair.targetUrl, async (c) => (await c.query('SELECT 1 FROM pgshift.lock')).rowCount)).toBe(0);
    } finally {
      await pair.drop();
    }
  });

  it('doctor shows the transaction pooler as a blocking row', () => {
    const file = cfg.write(minimalConfig(), 'doctor-pooled.yaml');
    const r = runCli(['doctor', '-c', file, '--json'], {
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: tx.url(),
    });
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { checks: { id: string; code?: string; side: string; status: string }[] };
    expect(report.checks).toContainEqual(
      expect.objectContaining({ id: 'pooler', code: 'POOLER_TRANSACTION_MODE', side: 'target', status: 'block' }),
    );
    expect(report.checks).toContainEqual(
      expect.objectContaining({ id: 'pooler', code: 'POOLER_SESSION', side: 'source', status: 'ok' }),
    );
  });

  it('checkApplicationUrl accepts the pgbouncer URL: SELECT 1 and a bounded read of each table, transaction pooling reported', async () => {
    const h = await checkApplicationUrl(tx.url(), { tables: [HOSTILE], timeoutMs: 5000 });
    expect(h).toMatchObject({ ok: true, pooling: 'transaction', problems: [] });
    expect(h.latencyMs).toBeGreaterThanOrEqual(0);
    const direct = await checkApplicationUrl(dbs.targetUrl, { tables: [HOSTILE] });
    expect(direct).toMatchObject({ ok: true, pooling: 'session', problems: [] });
  });

  it('pgshift cutover accepts the pgbouncer URL as the application URL and switches the env file to it', async () => {
    const pair = await freshDatabases('pgbouncer_cutover');
    try {
      await withPg(pair.sourceUrl, async (c) => {
        await c.query(`CREATE SCHEMA ${quoteIdent(HOSTILE.schema)}`);
        await c.query(`CREATE TABLE ${qualified(HOSTILE.schema, HOSTILE.name)} (id int PRIMARY KEY, note text)`);
        await c.query(
          `INSERT INTO ${qualified(HOSTILE.schema, HOSTILE.name)} SELECT g, 'row ' || g FROM generate_series(1, 200) g`,
        );
      });
      const envFile = `${cfg.dir}/app.env`;
      writeFileSync(envFile, `DATABASE_URL=${pair.sourceUrl}\n`);
      const file = cfg.write(
        minimalConfig(
          `cutover:\n  switch:\n    env_file: ${envFile}\n    variable: DATABASE_URL\n    value: \${APP_DATABASE_URL}\n`,
        ),
        'cutover.yaml',
      );
      const appUrl = tx.url(pair.name);
      const env = {
        SOURCE_DATABASE_URL: pair.sourceUrl,
        TARGET_DATABASE_URL: pair.targetUrl,
        APP_DATABASE_URL: appUrl,
      };
      const applied = runCli(['apply', '-c', file, '--auto-approve'], env);
      expect(applied.status, applied.stderr).toBe(0);
      const r = runCli(['cutover', '-c', file, '--auto-approve'], env);
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('Cutover complete!');
      expect(r.stdout + r.stderr).not.toContain(password);
      expect(readFileSync(envFile, 'utf8')).toBe(`DATABASE_URL=${appUrl}\n`);
      const steps = await withPg(pair.targetUrl, async (c) =>
        JSON.stringify(
          (
            await c.query(
              `SELECT steps FROM pgshift.cutover WHERE direction = 'cutover' ORDER BY started_at DESC LIMIT 1`,
            )
          ).rows[0],
        ),
      );
      expect(steps).toContain('transaction pooling');
    } finally {
      await pair.drop();
    }
  });

  it('checkApplicationUrl reports a missing table and a wrong password, never the password', async () => {
    const h = await checkApplicationUrl(tx.url(), {
      tables: [HOSTILE, { schema: 'public', name: 'no such table' }],
      timeoutMs: 5000,
    });
    expect(h.ok).toBe(false);
    expect(h.pooling).toBe('transaction');
    expect(h.problems).toHaveLength(1);
    expect(h.problems[0]).toMatch(/cannot read table public\.no such table: .*does not exist \(42P01\)/);

    const wrong = new URL(tx.url());
    wrong.password = encodeURIComponent(`${password}-wrong`);
    const bad = await checkApplicationUrl(wrong.toString(), { tables: [HOSTILE], timeoutMs: 5000 });
    expect(bad.ok).toBe(false);
    expect(bad.problems.join('\n')).toMatch(/CONNECT_AUTH_FAILED|authentication failed/);
    expect(JSON.stringify(bad)).not.toContain(password);

    const garbage = await checkApplicationUrl(`postgres://app:${password}@`, { tables: [] });
    expect(garbage.ok).toBe(false);
    expect(JSON.stringify(garbage)).not.toContain(password);
  });
});
