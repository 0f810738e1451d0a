/**
 * Zero downtime (issue 6, the first two "Done when" bullets): the test application service reads and writes
 * patient rows through the URL in its env file while a load generator runs against it during `pgshift apply`,
 * `pgshift cutover` (whose switch command reloads the service) and `pgshift rollback`.
 *
 * After the cutover: every write the service acknowledged is on the target, no request failed, writes paused no
 * longer than max_write_freeze, p95 read latency under 200 ms. After the rollback: the rows written on the target
 * after the cutover are on the source, and the service writes to the source. The figures are printed (and kept in
 * docs/benchmarks.md).
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync } from '../e2e/cli.js';
import { startAppServiceProcess, writeEnvFile, type AppServiceProcess } from '../support/app-service.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';
import { startLoad, type LoadSummary } from '../support/load.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MAX_FREEZE_MS = 15_000;
const SEED = 20_000;
const SEED_IDS = Array.from({ length: 200 }, (_v, i) => `seed-${i * 97}`);

const cfg = configDir('zero-downtime');
let dbs: FreshDatabases;
let app: AppServiceProcess | undefined;
let env: NodeJS.ProcessEnv;
let file: string;
const envFile = join(cfg.dir, 'app.env');

async function ids(url: string): Promise<Set<string>> {
  return withPg(
    url,
    async (c) => new Set((await c.query<{ id: string }>('SELECT id FROM public.patients')).rows.map((r) => r.id)),
  );
}

function figures(s: LoadSummary): Record<string, number> {
  return {
    reads: s.reads.ok + s.reads.notFound,
    readP50: s.reads.latency.p50,
    readP95: s.reads.latency.p95,
    readMax: s.reads.latency.max,
    writesAcknowledged: s.writes.acknowledged,
    failures: s.failures.length,
    longestWritePauseMs: Math.round(s.longestWritePauseMs),
  };
}

function explain(s: LoadSummary, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ ...figures(s), failuresSample: s.failures.slice(0, 5), ...extra }, null, 1)}\n--- service log ---\n${app?.logs().slice(-3000) ?? ''}`;
}

beforeAll(async () => {
  dbs = await freshDatabases('zero_downtime');
  await withPg(dbs.sourceUrl, (c) =>
    c.query(`CREATE TABLE public.patients (id text PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
             INSERT INTO public.patients (id, name, created_at) SELECT 'seed-' || g, 'seed patient ' || g, now() - interval '1 day' FROM generate_series(0, ${SEED - 1}) g;`),
  );
  env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
  writeEnvFile(envFile, { DATABASE_URL: dbs.sourceUrl });
  app = await startAppServiceProcess({ envFile });
  file = cfg.write(
    minimalConfig(`copy: { batch_size: 2000, parallel: 2 }
verify: { checksums: full }
cutover:
  max_write_freeze: ${MAX_FREEZE_MS}ms
  switch:
    env_file: ${envFile}
    variable: DATABASE_URL
    value: \${TARGET_DATABASE_URL}
    command: ${JSON.stringify(app.reloadCommandNode)}
`),
    'zero-downtime.yaml',
  );
}, 60_000);

afterAll(async () => {
  await app?.stop();
  if (!process.env.PGSHIFT_KEEP_DB) await dbs?.drop();
  cfg.remove();
});

describe('zero downtime under load', () => {
  it('apply and cutover while the application reads and writes: nothing lost, no request failed, a short write pause', async () => {
    const load = startLoad({
      baseUrl: (app as AppServiceProcess).baseUrl,
      clients: 6,
      readers: 2,
      writeRatio: 0.3,
      thinkMs: 5,
      readIds: SEED_IDS,
    });
    await sleep(500);
    const applied = await runCliAsync(['apply', '-c', file, '--auto-approve'], env);
    // on a failure, the stored verification report (keys as hashes, never values) says which rows and why
    const report = async (): Promise<string> =>
      withPg(dbs.targetUrl, async (c) =>
        JSON.stringify(
          (await c.query('SELECT report FROM pgshift.verifications ORDER BY started_at DESC LIMIT 1')).rows[0]?.report,
        ),
      );
    expect(applied.status, applied.stderr + (applied.status === 0 ? '' : await report())).toBe(0);
    await sleep(500);
    const cut = await runCliAsync(['cutover', '-c', file, '--auto-approve'], env);
    expect(cut.status, cut.stderr + cut.stdout).toBe(0);
    await sleep(1000);
    const summary = await load.stop();
    const row = await withPg(
      dbs.targetUrl,
      async (c) =>
        (
          await c.query<{ freeze_ms: number }>(
            `SELECT freeze_ms FROM pgshift.cutover WHERE direction = 'cutover' AND status = 'done'`,
          )
        ).rows[0],
    );
    const why = explain(summary, { freezeMs: row?.freeze_ms });
    console.log(
      `[zero-downtime] cutover under load: ${JSON.stringify({ ...figures(summary), freezeMs: row?.freeze_ms })}`,
    );

    expect(summary.failures, why).toEqual([]);
    expect(summary.pendingWrites, why).toBe(0);
    expect(summary.writes.acknowledged, why).toBeGreaterThan(50);
    const onTarget = await ids(dbs.targetUrl);
    const lost = summary.acknowledgedIds.filter((id) => !onTarget.has(id));
    expect(lost, why).toEqual([]);
    expect(summary.longestWritePauseMs, why).toBeLessThanOrEqual(MAX_FREEZE_MS);
    expect(row?.freeze_ms, why).toBeLessThanOrEqual(MAX_FREEZE_MS);
    expect(summary.reads.latency.p95, why).toBeLessThan(200);
    // the service writes to the target now: the source refuses
    expect(fs.readFileSync(envFile, 'utf8')).toContain(dbs.targetUrl);
  }, 240_000);

  it('rollback under load: the rows written on the target come back to the source, and the service writes to the source', async () => {
    const load = startLoad({
      baseUrl: (app as AppServiceProcess).baseUrl,
      clients: 6,
      readers: 2,
      writeRatio: 0.3,
      thinkMs: 5,
      readIds: SEED_IDS,
      idPrefix: 'after-cutover',
    });
    await sleep(1500);
    const back = await runCliAsync(['rollback', '-c', file, '--auto-approve'], env);
    expect(back.status, back.stderr + back.stdout).toBe(0);
    expect(back.stdout).toContain('Rollback complete!');
    await sleep(1000);
    const summary = await load.stop();
    console.log(`[zero-downtime] rollback under load: ${JSON.stringify(figures(summary))}`);
    const why = explain(summary);
    expect(summary.failures, why).toEqual([]);
    const onSource = await ids(dbs.sourceUrl);
    const missing = summary.acknowledgedIds.filter((id) => !onSource.has(id));
    expect(missing, why).toEqual([]);
    // the last acknowledged writes went to the source only (the target is frozen again)
    const onTarget = await ids(dbs.targetUrl);
    const last = summary.acknowledged.filter((w) => w.ackedAt > summary.stoppedAt - 500).map((w) => w.id);
    expect(last.length, why).toBeGreaterThan(0);
    expect(
      last.filter((id) => onTarget.has(id)),
      why,
    ).toEqual([]);
    expect(summary.longestWritePauseMs, why).toBeLessThanOrEqual(MAX_FREEZE_MS);
  }, 240_000);
});
