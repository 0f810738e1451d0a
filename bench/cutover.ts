/**
 * The write freeze of `pgshift cutover` on the clinic dataset (../shared/bench/gen.sql, generated with psql), while
 * a writer keeps changing the source: inserts into a small hot table and updates of random rows of the largest
 * table, retried through the freeze as an application would. Prints the freeze pgshift recorded and each step's time.
 *
 *   BENCH_CUTOVER_SCALES=0.2,1   gen.sql scales (default 0.2,1)
 *   BENCH_GEN_SQL=path           the generator (default ../shared/bench/gen.sql)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { introspect } from '../src/catalog/introspect.js';
import { qualified, quoteIdent } from '../src/db/ident.js';
import { startEmbedded } from '../test/support/embedded.js';
import { withPg } from '../test/support/sql.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const SCALES = (process.env.BENCH_CUTOVER_SCALES ?? '0.2,1').split(',').map(Number);
const GEN_SQL = path.resolve(REPO, process.env.BENCH_GEN_SQL ?? '../shared/bench/gen.sql');
const log = (m: string): void =>
  void process.stderr.write(`[bench cutover ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

/** A writer: inserts into the hot table and updates a random row of the big table, retrying through the freeze. */
function startWriter(
  url: string,
  big: { table: string; key: string },
): { stop(): Promise<{ writes: number; retries: number }> } {
  let stopping = false;
  let writes = 0;
  let retries = 0;
  const done = (async () => {
    const c = new pg.Client({ connectionString: url });
    c.on('error', (err) => log(`writer: ${err.message}`));
    await c.connect();
    try {
      while (!stopping) {
        try {
          await c.query('INSERT INTO bench_live (note) VALUES ($1)', [`w${writes}`]);
          await c.query(
            `UPDATE ${big.table} SET ${big.key} = ${big.key} WHERE ${big.key} IN (SELECT ${big.key} FROM ${big.table} TABLESAMPLE SYSTEM (0.05) LIMIT 1)`,
          );
          writes += 2;
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code !== '25006') {
            log(`writer stopped: ${code ?? ''} ${(err as Error).message}`);
            return;
          }
          retries++;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await done.catch(() => undefined);
      return { writes, retries };
    },
  };
}

async function main(): Promise<void> {
  if (!fs.existsSync(GEN_SQL) || spawnSyncOk('psql') === false) {
    console.log(`The cutover benchmark needs psql and ${GEN_SQL}: skipped.`);
    return;
  }
  const settings = { shared_buffers: '512MB', max_wal_size: '4GB' };
  const [source, target] = await Promise.all([
    startEmbedded({ major: 15, settings }),
    startEmbedded({ major: 17, settings }),
  ]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgshift-bench-cutover-'));
  const rows: string[] = [];
  try {
    for (const scale of SCALES) {
      const db = `cutover_${String(scale).replace('.', '_')}`;
      await withPg(source.url(), (c) => c.query(`CREATE DATABASE ${quoteIdent(db)}`));
      await withPg(target.url(), (c) => c.query(`CREATE DATABASE ${quoteIdent(db)}`));
      log(`generating scale ${scale}...`);
      const g = await run('psql', [
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-v',
        `scale=${scale}`,
        '-d',
        source.url(db),
        '-f',
        GEN_SQL,
      ]);
      if (g.code !== 0) throw new Error(`gen.sql failed: ${g.stderr.slice(-500)}`);
      await withPg(source.url(db), (c) =>
        c.query('CREATE TABLE bench_live (id bigserial PRIMARY KEY, note text, at timestamptz NOT NULL DEFAULT now())'),
      );
      const { big, size, total } = await withPg(source.url(db), async (c) => {
        const cat = await introspect(c);
        const keyed = cat.tables
          .filter((t) => t.key && t.key.length === 1 && t.kind !== 'partitioned')
          .sort((a, b) => b.estimatedBytes - a.estimatedBytes)[0];
        if (!keyed) throw new Error('no keyed table');
        const sz = await c.query<{ b: string }>('SELECT pg_database_size(current_database())::text AS b');
        const n = await c.query<{ n: string }>(`SELECT sum(n_live_tup)::text AS n FROM pg_stat_user_tables`);
        return {
          big: { table: qualified(keyed.schema, keyed.name), key: quoteIdent((keyed.key as string[])[0] as string) },
          size: Number(sz.rows[0]?.b),
          total: Number(n.rows[0]?.n ?? 0),
        };
      });
      const envFile = path.join(tmp, `${db}.env`);
      fs.writeFileSync(envFile, `DATABASE_URL=${source.url(db)}\n`);
      const cfg = path.join(tmp, `${db}.yaml`);
      fs.writeFileSync(
        cfg,
        `version: 1\nname: bench\nsource:\n  url: \${SOURCE_DATABASE_URL}\ntarget:\n  url: \${TARGET_DATABASE_URL}\ncopy: { batch_size: 100000, parallel: 2 }\nverify: { checksums: full }\n` +
          `cutover:\n  max_write_freeze: 10m\n  switch:\n    env_file: ${envFile}\n    variable: DATABASE_URL\n    value: \${TARGET_DATABASE_URL}\n`,
      );
      const env = { SOURCE_DATABASE_URL: source.url(db), TARGET_DATABASE_URL: target.url(db), CI: 'true' };
      const writer = startWriter(source.url(db), big);
      log(`scale ${scale}: apply (a writer keeps changing the source)...`);
      const applied = await run(process.execPath, ['bin/run.js', 'apply', '-c', cfg, '--auto-approve'], env);
      fs.writeFileSync(`/tmp/bench-apply-${db}.log`, applied.stderr);
      if (applied.code !== 0) {
        const rep = await withPg(target.url(db), async (c) =>
          JSON.stringify(
            (
              await c.query(
                "SELECT report->'schema' AS s, report->'summary' AS m FROM pgshift.verifications ORDER BY started_at DESC LIMIT 1",
              )
            ).rows[0],
          ),
        );
        throw new Error(`apply failed: ${applied.stderr.slice(-600)}\n${rep}`);
      }
      log(`scale ${scale}: cutover...`);
      const cut = await run(process.execPath, ['bin/run.js', 'cutover', '-c', cfg, '--auto-approve', '--json'], env);
      const w = await writer.stop();
      if (cut.code !== 0) throw new Error(`cutover failed: ${cut.stderr.slice(-1500)}`);
      const r = JSON.parse(cut.stdout) as {
        freezeMs: number;
        steps: Array<{ step: string; ms: number }>;
        sync: { catchUp: { written: number }; final: { written: number; deleted: number } };
      };
      const ms = (s: string): string => `${((r.steps.find((x) => x.step === s)?.ms ?? 0) / 1000).toFixed(2)} s`;
      rows.push(
        `| ${scale} | ${total.toLocaleString('en-US')} | ${(size / 2 ** 20).toFixed(0)} MiB | ${(applied.ms / 1000).toFixed(1)} s | ${ms('catch-up')} (${r.sync.catchUp.written} rows) | ` +
          `**${(r.freezeMs / 1000).toFixed(2)} s** | ${ms('freeze')} | ${ms('final-sync')} (${r.sync.final.written} rows) | ${ms('verify')} | ${ms('switching')} | ${w.writes} / ${w.retries} |`,
      );
      log(rows.at(-1) as string);
      await withPg(source.url(), (c) => c.query(`DROP DATABASE ${quoteIdent(db)} WITH (FORCE)`));
      await withPg(target.url(), (c) => c.query(`DROP DATABASE ${quoteIdent(db)} WITH (FORCE)`));
    }
  } finally {
    await Promise.all([source.dispose(), target.dispose()]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(
    '| scale | rows | database | apply | catch-up | write freeze | freeze step | final sync | verify | switch | writer: writes / 25006 retries |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
}

function spawnSyncOk(cmd: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => fs.existsSync(path.join(d, cmd)));
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
