/**
 * The zero-downtime fixtures of issue 6 proven on their own, before cutover uses them: the test application
 * service (test/support/app-service.ts, run as a child process) under the load generator (test/support/load.ts).
 *
 * (a) A reload mid-load (POST /reload through the shell hook `curl`, then SIGHUP) swaps the service to the other
 *     database: no request fails, requests in flight on the old pool finish on it, writes sent after the switch
 *     land on the new database.
 * (b) A write freeze on the database in use — ALTER DATABASE … SET default_transaction_read_only = on, then
 *     pg_terminate_backend of its sessions — for about a second: nothing is written during it, no read fails, no
 *     write fails (the service retries), every acknowledged write is in the database and the observed write pause
 *     is the freeze. After ALTER DATABASE … RESET the service writes again WITHOUT a second termination, because
 *     it discards a session that answered 25006.
 * (c) pgshift's own freeze (statement triggers raising 25006, src/cutover/freeze.ts): the same, with a write
 *     transaction in flight when it starts; and a mini cutover: writes retrying against the frozen source go to the
 *     target as soon as the service reloads onto it.
 * (d) What the freeze relies on, with plain pg sessions (no service): see the comment there.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { freezeWrites, unfreezeWrites } from '../../src/cutover/freeze.js';
import {
  appTableSql,
  parseEnvFile,
  startAppServiceProcess,
  writeEnvFile,
  type AppServiceProcess,
  type AppStats,
  type ReloadResult,
} from '../support/app-service.js';
import { freshDatabases, quoteIdent, withPg, type FreshDatabases } from '../support/databases.js';
import { nowMs, startLoad, type LoadSummary } from '../support/load.js';

const exec = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** a second table for the app: uuid ids, in a schema whose name needs quoting */
const UUID_TABLE = `${quoteIdent('Clinic "App"')}.patients`;
const SEED_IDS = Array.from({ length: 50 }, (_v, i) => `seed-${i}`);

let dbs: FreshDatabases;
let dir: string;
let envFile: string;
let app: AppServiceProcess | undefined;

beforeAll(async () => {
  dbs = await freshDatabases('app_service');
  for (const url of [dbs.sourceUrl, dbs.targetUrl]) {
    await withPg(url, async (c) => {
      await c.query(appTableSql());
      await c.query(`CREATE SCHEMA ${quoteIdent('Clinic "App"')}`);
      await c.query(appTableSql(UUID_TABLE, 'uuid'));
      await c.query(
        `INSERT INTO ${UUID_TABLE} (id, name) SELECT gen_random_uuid(), 'seed patient ' || g FROM generate_series(1, 20) g`,
      );
      await c.query(
        `INSERT INTO patients (id, name) SELECT 'seed-' || g, 'seed patient ' || g FROM generate_series(0, ${SEED_IDS.length - 1}) g`,
      );
    });
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgshift-app-'));
  envFile = path.join(dir, 'app.env');
});

afterEach(async () => {
  await app?.stop();
  app = undefined;
});

afterAll(async () => {
  await app?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  // the freeze test resets it, but a failed run must not leave a read-only database behind for the drop
  await dbs?.drop();
});

async function writtenIds(url: string, table = 'patients'): Promise<Set<string>> {
  return withPg(
    url,
    async (c) =>
      new Set(
        (await c.query<{ id: string }>(`SELECT id::text AS id FROM ${table} WHERE name NOT LIKE 'seed %'`)).rows.map(
          (r) => r.id,
        ),
      ),
  );
}

/** Figures for the failure message: the summary without its long lists, and the service's log tail. */
function explain(summary: LoadSummary, extra: Record<string, unknown> = {}): string {
  const { acknowledged: _a, acknowledgedIds: _i, readTimes: _r, ...rest } = summary;
  return `${JSON.stringify({ ...rest, ...extra }, null, 1)}\n--- service log ---\n${app?.logs().slice(-4000) ?? ''}`;
}

describe('env files', () => {
  it('reads KEY=value lines with quoting, export and comments, and writes them back atomically', () => {
    const text = [
      '# the application',
      'export DATABASE_URL="postgres://u:p%40ss@db:5432/clinic?sslmode=verify-full"',
      "OTHER_URL='postgres://x:y@z/w # not a comment'",
      'PLAIN = postgres://a:b@c/d  # a comment',
      'ESCAPED="a\\"b\\\\c\\nd"',
      'not a line',
    ].join('\n');
    expect(parseEnvFile(text)).toEqual({
      DATABASE_URL: 'postgres://u:p%40ss@db:5432/clinic?sslmode=verify-full',
      OTHER_URL: 'postgres://x:y@z/w # not a comment',
      PLAIN: 'postgres://a:b@c/d',
      ESCAPED: 'a"b\\c\nd',
    });
    const file = path.join(dir, 'roundtrip.env');
    const vars = { DATABASE_URL: 'postgres://u:"q"\\@h/db', OTHER: 'x' };
    writeEnvFile(file, vars);
    expect(parseEnvFile(fs.readFileSync(file, 'utf8'))).toEqual(vars);
  });
});

describe('reload mid-load', () => {
  it('swaps to the target on POST /reload (a shell hook) and back on SIGHUP; no request fails, in-flight requests finish on the old pool, new writes land on the new database', async () => {
    writeEnvFile(envFile, { DATABASE_URL: dbs.sourceUrl });
    app = await startAppServiceProcess({ envFile });
    const load = startLoad({ baseUrl: app.baseUrl, clients: 8, readIds: SEED_IDS });
    await sleep(1000);

    // requests held in the source's sessions across the swap: they must finish there, not fail
    const slowReads = Array.from({ length: 3 }, () =>
      fetch(`${app!.baseUrl}/patients/seed-1?sleep_ms=800`).then((r) => r.status),
    );
    const slowWrite = fetch(`${app.baseUrl}/patients`, {
      method: 'POST',
      body: JSON.stringify({ id: 'slow-write', name: 'slow', sleep_ms: 800 }),
    }).then((r) => r.status);
    await sleep(200);

    writeEnvFile(envFile, { DATABASE_URL: dbs.targetUrl });
    const tSwitch1 = nowMs();
    const hook = await exec('sh', ['-c', app.reloadCommand]); // what cutover's switch.command would run
    const tSwitched1 = nowMs();
    const first = JSON.parse(hook.stdout) as ReloadResult;
    expect(first.generation).toBe(2);
    expect(first.previousInFlight).toBeGreaterThanOrEqual(4);
    expect(await Promise.all(slowReads)).toEqual([200, 200, 200]);
    expect(await slowWrite).toBe(201);
    await sleep(1000);

    writeEnvFile(envFile, { DATABASE_URL: dbs.sourceUrl });
    const tSwitch2 = nowMs();
    const beforeHup = await app.stats();
    await exec('sh', ['-c', app.hupCommand]); // a hook that signals: asynchronous, so wait for the reload
    const afterHup = await app.waitForReload(beforeHup);
    const tSwitched2 = nowMs();
    expect(afterHup.generation).toBe(3);
    await sleep(1000);
    const summary = await load.stop();
    const stats = await app.stats();

    const why = explain(summary, { tSwitch1, tSwitched1, tSwitch2, tSwitched2, stats });
    expect(summary.failures, why).toEqual([]);
    expect(summary.pendingWrites).toBe(0);
    expect(summary.reads.latency.p95, why).toBeLessThan(200);
    // the old pools were drained, after their in-flight requests (the slow ones held generation 1 ~600 ms more)
    expect(
      stats.pools.map((p) => [p.generation, p.ended]),
      why,
    ).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(stats.pools[0]!.drainedInMs ?? 0, why).toBeGreaterThan(300);
    expect(stats.failedReloads).toBe(0);
    // no request even met a broken session: the swap alone never needs the service's retries
    expect({ readRetries: stats.readRetries, writeRetries: stats.writeRetries }, why).toEqual({
      readRetries: 0,
      writeRetries: 0,
    });

    const onSource = await writtenIds(dbs.sourceUrl);
    const onTarget = await writtenIds(dbs.targetUrl);
    expect(onSource.has('slow-write'), 'a write in flight on the old pool commits there').toBe(true);
    const before = summary.acknowledged.filter((w) => w.ackedAt < tSwitch1);
    const between = summary.acknowledged.filter((w) => w.sentAt > tSwitched1 && w.ackedAt < tSwitch2);
    const after = summary.acknowledged.filter((w) => w.sentAt > tSwitched2);
    expect(before.length, why).toBeGreaterThan(10);
    expect(between.length, why).toBeGreaterThan(10);
    expect(after.length, why).toBeGreaterThan(10);
    for (const w of summary.acknowledged)
      expect(onSource.has(w.id) !== onTarget.has(w.id), `${w.id} must be on exactly one side`).toBe(true);
    expect(
      before.filter((w) => !onSource.has(w.id)).map((w) => w.id),
      'acknowledged before the switch: on the source',
    ).toEqual([]);
    expect(
      between.filter((w) => !onTarget.has(w.id)).map((w) => w.id),
      'sent after the switch to the target: on the target',
    ).toEqual([]);
    expect(
      after.filter((w) => !onSource.has(w.id)).map((w) => w.id),
      'sent after the switch back: on the source',
    ).toEqual([]);
    // nothing else was written (no phantom rows)
    expect(onSource.size + onTarget.size).toBe(summary.acknowledged.length + 1);
    // a read misses only a row written on the other database, read after the switch away from it
    for (const nf of summary.notFound) {
      const legit =
        (onSource.has(nf.id) && !onTarget.has(nf.id) && nf.sentAt > tSwitch1 - 50 && nf.at < tSwitched2 + 50) ||
        (onTarget.has(nf.id) && !onSource.has(nf.id) && nf.sentAt > tSwitch2 - 50);
      expect(legit, `read of ${nf.id} at ${nf.sentAt} found nothing\n${why}`).toBe(true);
    }
  });

  it('keeps its pool and answers 502 when the new URL does not work, and keeps serving (a uuid table in a quoted schema, another variable name)', async () => {
    fs.writeFileSync(envFile, `# app settings\nexport APP_DB='${dbs.sourceUrl}'\nOTHER=1\n`);
    app = await startAppServiceProcess({ envFile, urlVariable: 'APP_DB', table: UUID_TABLE });
    const seeds = await withPg(dbs.sourceUrl, async (c) =>
      (await c.query<{ id: string }>(`SELECT id::text AS id FROM ${UUID_TABLE}`)).rows.map((r) => r.id),
    );
    const load = startLoad({ baseUrl: app.baseUrl, clients: 4, readIds: seeds, idKind: 'uuid' });
    await sleep(300);
    const bad = new URL(dbs.sourceUrl);
    bad.pathname = '/no_such_database_here';
    writeEnvFile(envFile, { APP_DB: bad.toString() });
    const hook = await exec('sh', ['-c', app.reloadCommand]).then(
      () => 0,
      (err: { code?: number }) => err.code ?? -1,
    );
    expect(hook, 'curl -f fails the hook').not.toBe(0);
    writeEnvFile(envFile, { DATABASE_URL: dbs.targetUrl }); // not the variable it reads
    expect((await app.reloadBySignal()).failedReloads).toBe(2);
    await sleep(300);
    const summary = await load.stop();
    const stats = await app.stats();
    expect(summary.failures, explain(summary)).toEqual([]);
    expect(stats.generation).toBe(1);
    expect(stats.pools).toHaveLength(1);
    expect({ readRetries: stats.readRetries, writeRetries: stats.writeRetries }).toEqual({
      readRetries: 0,
      writeRetries: 0,
    });
    expect(summary.writes.acknowledged).toBeGreaterThan(10);
    expect(summary.notFound).toEqual([]);
    const onSource = await writtenIds(dbs.sourceUrl, UUID_TABLE);
    expect(summary.acknowledgedIds.filter((id) => !onSource.has(id))).toEqual([]);
    expect(onSource.size).toBe(summary.acknowledged.length);
  });
});

interface Freeze {
  /** freeze writes; resolves once no write can land */
  freeze(admin: pg.Client): Promise<void>;
  /** lift it; the service must write again without any other help */
  unfreeze(admin: pg.Client): Promise<void>;
}

/**
 * The service on the source under load; `freeze` for about a second, then `unfreeze`. Checks: nothing written
 * during the freeze, no request failed, no read missed, reads went on during the freeze, every acknowledged write
 * is in the database, the observed write pause is the freeze (give or take the retry backoff), writes resumed.
 */
async function freezeScenario(
  how: Freeze,
  duringFreeze?: (admin: pg.Client) => Promise<void>,
): Promise<{ summary: LoadSummary; stats: AppStats; midFreeze: AppStats }> {
  writeEnvFile(envFile, { DATABASE_URL: dbs.sourceUrl });
  app = await startAppServiceProcess({ envFile });
  const load = startLoad({ baseUrl: app.baseUrl, clients: 8, readIds: SEED_IDS });
  await sleep(1000);

  const admin = new pg.Client({ connectionString: dbs.sourceUrl });
  admin.on('error', () => undefined);
  await admin.connect(); // opened before the freeze: this session stays writable (it is pgshift's, not the app's)
  const count = async (): Promise<number> =>
    Number(
      (await admin.query<{ n: string }>("SELECT count(*) AS n FROM patients WHERE id NOT LIKE 'seed-%'")).rows[0]!.n,
    );
  let tFreeze = 0;
  let tFrozen = 0;
  let tUnfreeze = 0;
  let countAtFreeze = 0;
  let countBeforeUnfreeze = 0;
  let midFreeze: AppStats | undefined;
  try {
    tFreeze = nowMs();
    await how.freeze(admin);
    await sleep(100); // what was committing when the freeze took hold is acknowledged meanwhile
    countAtFreeze = await count();
    tFrozen = nowMs();
    await duringFreeze?.(admin);
    await sleep(1000);
    midFreeze = await app.stats();
    countBeforeUnfreeze = await count();
  } finally {
    tUnfreeze = nowMs();
    await how.unfreeze(admin);
    await admin.end();
  }
  await sleep(1500);
  const summary = await load.stop();
  const stats = await app.stats();
  const freezeMs = tUnfreeze - tFreeze;
  const why = explain(summary, { tFreeze, tFrozen, tUnfreeze, freezeMs, midFreeze, stats });

  expect(countBeforeUnfreeze, `nothing was written during the freeze\n${why}`).toBe(countAtFreeze);
  expect(summary.failures, why).toEqual([]);
  expect(summary.notFound, why).toEqual([]);
  expect(summary.pendingWrites).toBe(0);
  // the app met the freeze: writes were refused with 25006 and retried
  expect(midFreeze!.writeRetryCodes['25006'] ?? 0, why).toBeGreaterThan(0);
  // reads kept working during the freeze
  const readsDuringFreeze = summary.readTimes.filter((r) => r.sentAt > tFrozen && r.at < tUnfreeze);
  expect(readsDuringFreeze.length, why).toBeGreaterThan(20);
  expect(summary.reads.latency.p95, why).toBeLessThan(200);
  // no write acknowledged inside the freeze; the observed pause is the freeze, give or take the retry backoff
  expect(
    summary.acknowledged.filter((w) => w.ackedAt > tFrozen && w.ackedAt < tUnfreeze).map((w) => w.id),
    why,
  ).toEqual([]);
  expect(summary.longestWritePause.from, why).toBeLessThanOrEqual(tFrozen);
  expect(summary.longestWritePause.to, why).toBeGreaterThanOrEqual(tUnfreeze);
  expect(summary.longestWritePauseMs, why).toBeLessThan(freezeMs + 1000);
  // writes resumed after the unfreeze
  expect(summary.acknowledged.filter((w) => w.sentAt > tUnfreeze + 500).length, why).toBeGreaterThan(10);
  const onSource = await writtenIds(dbs.sourceUrl);
  expect(
    summary.acknowledgedIds.filter((id) => !onSource.has(id)),
    'every acknowledged write is in the database',
  ).toEqual([]);
  console.log(
    `write freeze of ${Math.round(freezeMs)} ms: observed write pause ${summary.longestWritePauseMs} ms; reads p50/p95/max ${summary.reads.latency.p50}/${summary.reads.latency.p95}/${summary.reads.latency.max} ms; ${summary.writes.acknowledged} writes, ${summary.reads.ok} reads; write retries ${JSON.stringify(stats.writeRetryCodes)}`,
  );
  return { summary, stats, midFreeze: midFreeze! };
}

describe('a write freeze', () => {
  it('ALTER DATABASE default_transaction_read_only + pg_terminate_backend: writes pause for the freeze and resume after it; no request fails; every acknowledged write is there', async () => {
    const db = quoteIdent(dbs.name);
    const { stats } = await freezeScenario({
      async freeze(admin) {
        await admin.query(`ALTER DATABASE ${db} SET default_transaction_read_only = on`);
        const killed = await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        expect(killed.rowCount).toBeGreaterThan(0);
      },
      async unfreeze(admin) {
        // no second pg_terminate_backend: the service drops the read-only sessions it opened during the freeze
        await admin.query(`ALTER DATABASE ${db} RESET default_transaction_read_only`);
      },
    });
    expect(stats.discardedReadOnlySessions).toBeGreaterThan(0);
  });

  it("pgshift's freeze (statement triggers raising 25006, src/cutover/freeze.ts), with a write in flight when it starts: it drains, then writes pause and resume", async () => {
    let slowWrite: Promise<number> | undefined;
    let drainMs = 0;
    await freezeScenario({
      async freeze(admin) {
        // a write transaction in flight (holding its row lock for 400 ms): the freeze waits for it
        slowWrite = fetch(`${app!.baseUrl}/patients`, {
          method: 'POST',
          body: JSON.stringify({ id: 'in-flight-at-freeze', name: 'slow', sleep_ms: 400 }),
        }).then((r) => r.status);
        await sleep(100);
        const r = await freezeWrites(admin, [{ schema: 'public', name: 'patients' }], {
          id: 'app-service-test',
          drainTimeoutMs: 5_000,
          onDrainTimeout: 'abort',
          expiresInMs: 60_000,
        });
        drainMs = r.drainMs;
      },
      async unfreeze(admin) {
        await unfreezeWrites(admin, { dropSchema: true });
      },
    });
    expect(await slowWrite).toBe(201);
    expect(drainMs, 'the freeze waited for the write in flight').toBeGreaterThan(150);
    expect((await writtenIds(dbs.sourceUrl)).has('in-flight-at-freeze')).toBe(true);
  });

  it('a mini cutover: writes retrying against the frozen source go to the target as soon as the service reloads onto it', async () => {
    writeEnvFile(envFile, { DATABASE_URL: dbs.sourceUrl });
    app = await startAppServiceProcess({ envFile });
    const load = startLoad({ baseUrl: app.baseUrl, clients: 8, readIds: SEED_IDS });
    await sleep(1000);
    const admin = new pg.Client({ connectionString: dbs.sourceUrl });
    admin.on('error', () => undefined);
    await admin.connect();
    let tFreeze = 0;
    let tFrozen = 0;
    let tSwitch = 0;
    let tSwitched = 0;
    try {
      tFreeze = nowMs();
      await freezeWrites(admin, [{ schema: 'public', name: 'patients' }], {
        id: 'app-service-mini-cutover',
        drainTimeoutMs: 5_000,
        onDrainTimeout: 'abort',
        expiresInMs: 60_000,
      });
      tFrozen = nowMs();
      await sleep(800); // every mixed client ends up in a write that retries against the frozen source
      writeEnvFile(envFile, { DATABASE_URL: dbs.targetUrl });
      tSwitch = nowMs();
      await exec('sh', ['-c', app.reloadCommand]);
      tSwitched = nowMs();
      await sleep(1000);
    } finally {
      await unfreezeWrites(admin, { dropSchema: true });
      await admin.end();
    }
    const summary = await load.stop();
    const stats = await app.stats();
    const why = explain(summary, { tFreeze, tFrozen, tSwitch, tSwitched, stats });
    expect(summary.failures, why).toEqual([]);
    const onSource = await writtenIds(dbs.sourceUrl);
    const onTarget = await writtenIds(dbs.targetUrl);
    for (const w of summary.acknowledged)
      expect(onSource.has(w.id) !== onTarget.has(w.id), `${w.id} must be on exactly one side`).toBe(true);
    // sent during the freeze, retried across the switch, acknowledged by the target (how many depends on how many
    // clients happened to start a write in the 800 ms window: at least one, on these shared cores)
    const carried = summary.acknowledged.filter((w) => w.sentAt > tFrozen && w.sentAt < tSwitch);
    expect(carried.length, why).toBeGreaterThanOrEqual(1);
    expect(
      carried.filter((w) => !onTarget.has(w.id) || w.attempts < 2).map((w) => w.id),
      why,
    ).toEqual([]);
    expect(
      summary.acknowledged.filter((w) => w.ackedAt > tSwitched && !onTarget.has(w.id)).map((w) => w.id),
      why,
    ).toEqual([]);
    // no write sent once the freeze was in place was acknowledged before the switch (a write committed just before
    // the freeze may have its answer delivered a little after it, on loaded cores: that one is on the source)
    expect(
      summary.acknowledged.filter((w) => w.sentAt > tFrozen && w.ackedAt < tSwitch).map((w) => w.id),
      'nothing written during the freeze',
    ).toEqual([]);
    expect(
      summary.acknowledged
        .filter((w) => w.ackedAt > tFrozen && w.ackedAt < tSwitch && !onSource.has(w.id))
        .map((w) => w.id),
      why,
    ).toEqual([]);
    // the write pause runs from the freeze to the switch: it opens with the answer to a write sent before the
    // freeze was in place (that answer may arrive a few ms after it on loaded cores) and closes after the switch
    const opener = summary.acknowledged.find((w) => w.ackedAt === summary.longestWritePause.from);
    expect(opener?.sentAt ?? summary.startedAt, why).toBeLessThanOrEqual(tFrozen);
    expect(summary.longestWritePause.to, why).toBeGreaterThanOrEqual(tSwitch);
    expect(summary.longestWritePauseMs, why).toBeLessThan(tSwitched - tFreeze + 1000);
    // a read misses only a row written on the source before the switch, read after it
    for (const nf of summary.notFound)
      expect(onSource.has(nf.id) && nf.sentAt > tSwitch - 50, `read of ${nf.id} found nothing\n${why}`).toBe(true);
    expect(summary.reads.latency.p95, why).toBeLessThan(200);
  });

  /*
   * What the freeze relies on, shown with plain sessions:
   * - ALTER DATABASE … SET default_transaction_read_only = on is read at session START only: sessions already open
   *   (an application's pool) keep writing. It freezes nothing until those sessions are terminated (or reconnect).
   * - A session opened during the freeze keeps `on` after ALTER DATABASE … RESET: an application that does not
   *   drop such a session stays read-only on it (the service here discards a session that answered 25006;
   *   otherwise terminate the backends again at the unfreeze, i.e. on abort and on rollback).
   * - It is cooperative, not enforced: a session may SET default_transaction_read_only = off (or BEGIN READ WRITE),
   *   and a per-role setting (ALTER ROLE … [IN DATABASE …] SET default_transaction_read_only = off, see
   *   pg_db_role_setting) or a startup option (options=-c default_transaction_read_only=off) takes precedence over
   *   the database's.
   */
  it('what the freeze relies on: settings read at session start, kept after the reset, overridable per role', async () => {
    const db = quoteIdent(dbs.name);
    const readOnlyOf = async (c: pg.Client): Promise<string> =>
      (await c.query<{ v: string }>("SELECT current_setting('default_transaction_read_only') AS v")).rows[0]!.v;
    const insert = async (c: pg.Client, id: string): Promise<string> =>
      c.query('INSERT INTO patients (id, name) VALUES ($1, $2)', [id, id]).then(
        () => 'ok',
        (err: { code?: string }) => err.code ?? 'error',
      );
    const open = async (): Promise<pg.Client> => {
      const c = new pg.Client({ connectionString: dbs.sourceUrl });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    };
    const admin = await open();
    const before = await open();
    const clients = [admin, before];
    try {
      await admin.query(`ALTER DATABASE ${db} SET default_transaction_read_only = on`);
      expect(await readOnlyOf(before)).toBe('off');
      expect(await insert(before, 'finding-existing-session')).toBe('ok'); // an open session still writes

      const during = await open();
      clients.push(during);
      expect(await readOnlyOf(during)).toBe('on');
      expect(await insert(during, 'finding-new-session')).toBe('25006');
      // reads work in a read-only session
      expect((await during.query("SELECT count(*)::int AS n FROM patients WHERE id LIKE 'seed-%'")).rows[0]).toEqual({
        n: SEED_IDS.length,
      });

      // cooperative: the session can turn it off for itself
      const escaping = await open();
      clients.push(escaping);
      await escaping.query('SET default_transaction_read_only = off');
      expect(await insert(escaping, 'finding-escaped')).toBe('ok');

      // a per-role setting in this database wins over the database's
      await admin.query(`ALTER ROLE CURRENT_USER IN DATABASE ${db} SET default_transaction_read_only = off`);
      const roleOverride = await open();
      clients.push(roleOverride);
      expect(await readOnlyOf(roleOverride)).toBe('off');
      await admin.query(`ALTER ROLE CURRENT_USER IN DATABASE ${db} RESET default_transaction_read_only`);

      await admin.query(`ALTER DATABASE ${db} RESET default_transaction_read_only`);
      // a session opened during the freeze is still read-only after the reset
      expect(await readOnlyOf(during)).toBe('on');
      expect(await insert(during, 'finding-after-reset')).toBe('25006');
      const after = await open();
      clients.push(after);
      expect(await insert(after, 'finding-after-reset')).toBe('ok');
    } finally {
      await admin.query(`ALTER DATABASE ${db} RESET default_transaction_read_only`).catch(() => undefined);
      await admin
        .query(`ALTER ROLE CURRENT_USER IN DATABASE ${db} RESET default_transaction_read_only`)
        .catch(() => undefined);
      await admin.query("DELETE FROM patients WHERE id LIKE 'finding-%'").catch(() => undefined);
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    }
  });
});
