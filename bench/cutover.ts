/**
 * The write freeze of `pgshift cutover`, both strategies side by side, on the clinic dataset (../shared/bench/gen.sql,
 * generated with psql once per scale), while the same paced writer (bench/cutover-writer.ts) changes the source:
 *
 * - freeze: `pgshift apply`, then `pgshift cutover` (catch-up by rescanning, freeze, final sync, verify, switch);
 * - stream: `pgshift apply --follow` as a background child (the copy, then the change stream), the replication lag
 *   sampled every 250 ms over a streaming window, then `pgshift cutover` takes the stream over (NOTIFY handover).
 *
 * Lag (seconds) of a sample = clock_timestamp() on the source minus pgshift.stream.source_commit_at (the commit time
 * on the source of the last source transaction whose changes are committed on the target): how old the newest write
 * the target holds is. Lag (bytes) = pg_wal_lsn_diff(pg_current_wal_lsn(), pgshift.stream.applied_lsn). Both servers
 * run on this machine (one clock). The window starts once the backlog the copy left is applied (lag < 1 s).
 *
 *   BENCH_CUTOVER_SCALES=1,2          gen.sql scales (default 1,2; 0.2 for a quick check)
 *   BENCH_CUTOVER_STRATEGIES=...      freeze,stream (default both, in that order)
 *   BENCH_WRITES_PER_S=500            the writer's rate (default 500)
 *   BENCH_WRITER_CONNECTIONS=4        its client connections (default 4)
 *   BENCH_STREAM_WINDOW_S=45          the streaming window sampled for lag (default 45)
 *   BENCH_GEN_SQL=path                the generator (default ../shared/bench/gen.sql)
 *   BENCH_KEEP_LOGS=1                 keep each pgshift child's stderr in /tmp/bench-cutover-*.log
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { readEnvValue } from '../src/cutover/env-file.js';
import { unfreezeWrites } from '../src/cutover/freeze.js';
import { introspect } from '../src/catalog/introspect.js';
import { qualified, quoteIdent } from '../src/db/ident.js';
import { startEmbedded, type EmbeddedPostgres } from '../test/support/embedded.js';
import { withPg } from '../test/support/sql.js';
import { startWriter, type WriterTarget } from './cutover-writer.js';
import { start as startProcess, type Done } from './proc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const SCALES = (process.env.BENCH_CUTOVER_SCALES ?? '1,2').split(',').map(Number);
const STRATEGIES = (process.env.BENCH_CUTOVER_STRATEGIES ?? 'freeze,stream').split(',') as Array<'freeze' | 'stream'>;
const RATE = Number(process.env.BENCH_WRITES_PER_S ?? 500);
const CONNECTIONS = Number(process.env.BENCH_WRITER_CONNECTIONS ?? 4);
const WINDOW_MS = Number(process.env.BENCH_STREAM_WINDOW_S ?? 45) * 1000;
const SAMPLE_MS = 250;
const GEN_SQL = path.resolve(REPO, process.env.BENCH_GEN_SQL ?? '../shared/bench/gen.sql');
const log = (m: string): void =>
  void process.stderr.write(`[bench cutover ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Done> } {
  return startProcess(cmd, args, { cwd: REPO, env });
}

const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, more: NodeJS.ProcessEnv = {}): Promise<Done> =>
  start(cmd, args, { ...env, ...more }).done;

function keepLog(name: string, text: string): void {
  if (process.env.BENCH_KEEP_LOGS) fs.writeFileSync(`/tmp/bench-cutover-${name}.log`, text);
}

function lsn(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** Nearest-rank percentile. */
function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

interface LagSample {
  at: number;
  seconds: number;
  bytes: number;
}

/** Samples the stream's lag every 250 ms until stopped. */
function startSampler(sourceUrl: string, targetUrl: string): { samples: LagSample[]; stop(): Promise<void> } {
  const samples: LagSample[] = [];
  let stopping = false;
  const done = (async () => {
    const src = new pg.Client({ connectionString: sourceUrl });
    const tgt = new pg.Client({ connectionString: targetUrl });
    await Promise.all([src.connect(), tgt.connect()]);
    try {
      const t0 = performance.now();
      for (let i = 1; !stopping; i++) {
        const [s, t] = await Promise.all([
          src.query<{ now: Date; lsn: string }>('SELECT clock_timestamp() AS now, pg_current_wal_lsn()::text AS lsn'),
          tgt
            .query<{ lsn: string | null; commit_at: Date | null }>(
              `SELECT applied_lsn::text AS lsn, source_commit_at AS commit_at FROM pgshift.stream ORDER BY created_at DESC LIMIT 1`,
            )
            .catch(() => ({ rows: [] as Array<{ lsn: string | null; commit_at: Date | null }> })),
        ]);
        const now = s.rows[0];
        const row = t.rows[0];
        if (now && row?.lsn && row.commit_at) {
          samples.push({
            at: performance.now(),
            seconds: (now.now.getTime() - row.commit_at.getTime()) / 1000,
            bytes: Number(lsn(now.lsn) - lsn(row.lsn)),
          });
        }
        const wait = t0 + i * SAMPLE_MS - performance.now();
        if (wait > 0) await sleep(wait);
      }
    } finally {
      await Promise.all([src.end().catch(() => undefined), tgt.end().catch(() => undefined)]);
    }
  })();
  return {
    samples,
    stop: async () => {
      stopping = true;
      await done;
    },
  };
}

interface CutJson {
  freezeMs: number;
  steps: Array<{ step: string; ms: number; detail: string }>;
  sync: { catchUp: { written: number }; final: { written: number; deleted: number } };
}

interface Measured {
  strategy: 'freeze' | 'stream';
  applyMs: number;
  before: string;
  lag: string;
  lagBytes: string;
  cut: CutJson;
  inFreeze: string;
  pauseMs: number;
  perSecond: number;
  retries: number;
}

const s2 = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const stepMs = (r: CutJson, s: string): number => r.steps.find((x) => x.step === s)?.ms ?? 0;

async function main(): Promise<void> {
  if (!fs.existsSync(GEN_SQL) || !onPath('psql')) {
    console.log(`The cutover benchmark needs psql (PostgreSQL client) and ${GEN_SQL}: skipped.`);
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
      log(`generating scale ${scale}...`);
      const g = await run(
        'psql',
        ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', `scale=${scale}`, '-d', source.url(db)].concat(['-f', GEN_SQL]),
      );
      if (g.code !== 0) throw new Error(`gen.sql failed: ${g.stderr.slice(-500)}`);
      log(`scale ${scale}: generated in ${s2(g.ms)}`);
      await withPg(source.url(db), (c) =>
        c.query('CREATE TABLE bench_live (id bigserial PRIMARY KEY, note text, at timestamptz NOT NULL DEFAULT now())'),
      );
      const { writerTarget, size, total } = await describeSource(source.url(db));
      for (const strategy of STRATEGIES) {
        const tdb = `${db}_${strategy}`;
        await withPg(target.url(), (c) => c.query(`CREATE DATABASE ${quoteIdent(tdb)}`));
        const m = await measure(
          strategy,
          scale,
          { source, target },
          source.url(db),
          target.url(tdb),
          writerTarget,
          tmp,
        );
        rows.push(
          `| ${scale} | ${total.toLocaleString('en-US')} | ${(size / 2 ** 20).toFixed(0)} MiB | ${m.strategy} | ${s2(m.applyMs)} | ${m.before} | ` +
            `${m.lag} | ${m.lagBytes} | **${s2(m.cut.freezeMs)}** | ${m.inFreeze} | ${s2(m.pauseMs)} | ${m.perSecond.toFixed(0)} (${m.retries}) |`,
        );
        log(rows.at(-1) as string);
        // the cutover left the source frozen for good (as after a real switch): lift it for the next strategy
        await withPg(source.url(db), async (c) => {
          await unfreezeWrites(c, { dropSchema: true });
          await c.query(
            'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database() AND NOT active',
          );
        });
        await withPg(target.url(), (c) => c.query(`DROP DATABASE ${quoteIdent(tdb)} WITH (FORCE)`));
      }
      await withPg(source.url(), (c) => c.query(`DROP DATABASE ${quoteIdent(db)} WITH (FORCE)`));
    }
  } finally {
    await Promise.all([source.dispose(), target.dispose()]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(
    `\nwriter: ${RATE} writes/s asked over ${CONNECTIONS} connections (45% updates of random rows of the largest table, ` +
      `50% inserts and 5% deletes on a hot table, refused writes retried every 10 ms, each connection moving to the target once the env file is switched); lag sampled every ${SAMPLE_MS} ms ` +
      `over ${WINDOW_MS / 1000} s\n`,
  );
  console.log(
    '| scale | rows | database | strategy | apply | before the freeze | lag p50 / p95 / max | lag bytes p50 / p95 / max | write freeze recorded | in the freeze | writer pause observed | writes/s achieved (25006 retries) |',
  );
  console.log('| ---: | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: |');
  for (const r of rows) console.log(r);
}

/** The writer's tables (the hot table and the largest keyed one, with an integer key), the size and the rows. */
async function describeSource(url: string): Promise<{ writerTarget: WriterTarget; size: number; total: number }> {
  return withPg(url, async (c) => {
    const cat = await introspect(c);
    const keyed = cat.tables
      .filter((t) => t.key && t.key.length === 1 && t.kind !== 'partitioned' && t.name !== 'bench_live')
      .sort((a, b) => b.estimatedBytes - a.estimatedBytes);
    for (const t of keyed) {
      const table = qualified(t.schema, t.name);
      const key = quoteIdent((t.key as string[])[0] as string);
      const ty = await c.query<{ t: string }>(
        'SELECT pg_catalog.format_type(atttypid, NULL) AS t FROM pg_catalog.pg_attribute WHERE attrelid = $1::regclass AND attname = $2',
        [table, (t.key as string[])[0]],
      );
      if (!['integer', 'bigint'].includes(ty.rows[0]?.t ?? '')) continue;
      const r = await c.query<{ min: string; max: string }>(
        `SELECT min(${key})::text AS min, max(${key})::text AS max FROM ${table}`,
      );
      const row = r.rows[0];
      if (!row?.min) continue;
      const sz = await c.query<{ b: string }>('SELECT pg_database_size(current_database())::text AS b');
      const n = await c.query<{ n: string }>('SELECT sum(n_live_tup)::text AS n FROM pg_stat_user_tables');
      return {
        writerTarget: {
          hot: qualified('public', 'bench_live'),
          big: { table, key, min: Number(row.min), max: Number(row.max) },
        },
        size: Number(sz.rows[0]?.b),
        total: Number(n.rows[0]?.n ?? 0),
      };
    }
    throw new Error('no table with an integer key for the writer');
  });
}

async function measure(
  strategy: 'freeze' | 'stream',
  scale: number,
  servers: { readonly source: EmbeddedPostgres; readonly target: EmbeddedPostgres },
  sourceUrl: string,
  targetUrl: string,
  writerTarget: WriterTarget,
  tmp: string,
): Promise<Measured> {
  const name = `${scale}-${strategy}`;
  const envFile = path.join(tmp, `${name}.env`);
  fs.writeFileSync(envFile, `DATABASE_URL=${sourceUrl}\n`);
  const cfg = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(
    cfg,
    `version: 1\nname: bench\nsource:\n  url: \${SOURCE_DATABASE_URL}\ntarget:\n  url: \${TARGET_DATABASE_URL}\ncopy: { batch_size: 100000, parallel: 2 }\nverify: { checksums: full }\n` +
      `cutover:\n  strategy: ${strategy}\n  max_write_freeze: 10m\n` +
      // audit_log has no key: with REPLICA IDENTITY FULL it streams whole (else inserts only, rescanned in the freeze)
      (strategy === 'stream' ? '  stream: { replica_identity_full: true }\n' : '') +
      `  switch:\n    env_file: ${envFile}\n    variable: DATABASE_URL\n    value: \${TARGET_DATABASE_URL}\n`,
  );
  const env = { SOURCE_DATABASE_URL: sourceUrl, TARGET_DATABASE_URL: targetUrl, CI: 'true' };
  const writer = startWriter(sourceUrl, writerTarget, {
    perSecond: RATE,
    connections: CONNECTIONS,
    log,
    // the application reads its URL from the env file the cutover switches
    urlOf: () => readEnvValue(fs.readFileSync(envFile, 'utf8'), 'DATABASE_URL') ?? sourceUrl,
  });
  try {
    let applyMs: number;
    let before: string;
    let lag = '–';
    let lagBytes = '–';
    let follower: { child: ChildProcess; done: Promise<Done> } | undefined;
    let sampler: ReturnType<typeof startSampler> | undefined;
    if (strategy === 'freeze') {
      log(`scale ${scale} freeze: apply (the writer keeps changing the source)...`);
      const applied = await run(process.execPath, ['bin/run.js', 'apply', '-c', cfg, '--auto-approve'], env);
      keepLog(`${name}-apply`, applied.stderr);
      if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr.slice(-1500)}`);
      applyMs = applied.ms;
      before = '';
    } else {
      log(`scale ${scale} stream: apply --follow (the writer keeps changing the source)...`);
      const t0 = performance.now();
      follower = start(process.execPath, ['bin/run.js', 'apply', '-c', cfg, '--auto-approve', '--follow'], {
        ...env,
        ...(process.env.BENCH_FOLLOW_LOG_LEVEL ? { PGSHIFT_LOG_LEVEL: process.env.BENCH_FOLLOW_LOG_LEVEL } : {}),
      });
      let exited: Done | undefined;
      void follower.done.then((d) => (exited = d));
      let stderr = '';
      const live = process.env.BENCH_KEEP_LOGS ? fs.createWriteStream(`/tmp/bench-cutover-${name}-follow.log`) : null;
      follower.child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        live?.write(d);
      });
      while (!stderr.includes('Streaming changes from the source')) {
        if (exited) throw new Error(`apply --follow failed: ${exited.stderr.slice(-1500)}`);
        await sleep(100);
      }
      applyMs = performance.now() - t0;
      sampler = startSampler(sourceUrl, targetUrl);
      // the backlog: what the source wrote during the copy and the verification, applied first
      const tb = performance.now();
      for (;;) {
        const last = sampler.samples.at(-1);
        if (last && last.at > tb && last.seconds < 1) break;
        if (exited) throw new Error(`apply --follow stopped: ${exited.stderr.slice(-1500)}`);
        if (performance.now() - tb > 600_000) throw new Error('the stream did not catch up within 10 minutes');
        await sleep(SAMPLE_MS);
      }
      const backlogMs = performance.now() - tb;
      log(`scale ${scale} stream: backlog applied in ${s2(backlogMs)}; sampling the lag for ${WINDOW_MS / 1000} s...`);
      const w0 = performance.now();
      const written0 = writer.stats.writes;
      await sleep(WINDOW_MS);
      const windowMs = performance.now() - w0;
      const windowWrites = writer.stats.writes - written0;
      await sampler.stop();
      if (exited) throw new Error(`apply --follow stopped: ${exited.stderr.slice(-1500)}`);
      const inWindow = sampler.samples.filter((x) => x.at >= w0);
      const secs = inWindow.map((x) => x.seconds).sort((a, b) => a - b);
      const bytes = inWindow.map((x) => x.bytes).sort((a, b) => a - b);
      lag = `${pct(secs, 50).toFixed(2)} / **${pct(secs, 95).toFixed(2)}** / ${pct(secs, 100).toFixed(2)} s`;
      lagBytes = `${kib(pct(bytes, 50))} / ${kib(pct(bytes, 95))} / ${kib(pct(bytes, 100))}`;
      before = `stream ${(windowMs / 1000).toFixed(0)} s at ${((windowWrites * 1000) / windowMs).toFixed(0)} writes/s (${inWindow.length} samples; backlog ${s2(backlogMs)}) + `;
      log(`scale ${scale} stream: lag ${lag}, bytes ${lagBytes}`);
    }
    log(`scale ${scale} ${strategy}: cutover (load average ${os.loadavg()[0]?.toFixed(2)})...`);
    const trace = process.env.BENCH_TRACE_CUTOVER ? await startTrace(servers) : undefined;
    writer.windowStart();
    const cutRun = await run(process.execPath, ['bin/run.js', 'cutover', '-c', cfg, '--auto-approve', '--json'], env, {
      ...(process.env.BENCH_TRACE_CUTOVER ? { PGSHIFT_LOG_LEVEL: 'debug' } : {}),
    });
    const win = writer.windowEnd();
    await trace?.(name);
    keepLog(`${name}-cutover`, cutRun.stderr);
    if (cutRun.code !== 0) throw new Error(`cutover failed: ${cutRun.stderr.slice(-1500)}`);
    if (follower) {
      const f = await Promise.race([follower.done, sleep(30_000).then(() => undefined)]);
      if (!f) {
        follower.child.kill('SIGKILL');
        throw new Error('apply --follow did not hand the stream over');
      }
      if (f.code !== 0) throw new Error(`apply --follow ended with ${f.code}: ${f.stderr.slice(-1500)}`);
    }
    const cut = JSON.parse(cutRun.stdout) as CutJson;
    log(`scale ${scale} ${strategy} steps: ${cut.steps.map((x) => `${x.step} ${x.ms} ms`).join(', ')}`);
    const stats = await writer.stop();
    const inFreeze =
      strategy === 'freeze'
        ? `final sync ${s2(stepMs(cut, 'final-sync'))} (${cut.sync.final.written} rows) + verify ${s2(stepMs(cut, 'verify'))}`
        : `fence ${s2(stepMs(cut, 'stream-fence'))} + verify ${s2(stepMs(cut, 'verify'))}`;
    before +=
      strategy === 'freeze'
        ? `catch-up ${s2(stepMs(cut, 'catch-up'))} (${cut.sync.catchUp.written} rows)`
        : `catch-up ${s2(stepMs(cut, 'stream-catch-up'))}`;
    log(
      `scale ${scale} ${strategy}: writer ${stats.writes} writes (${stats.inserts} inserts, ${stats.updates} updates, ${stats.deletes} deletes), ` +
        `${stats.retries} retries, ${stats.missed} missed slots, ${stats.errors} errors, ${stats.switched} connections switched over ${s2(stats.elapsedMs)}; pause ${s2(win.maxGapMs)}`,
    );
    return {
      strategy,
      applyMs,
      before,
      lag,
      lagBytes,
      cut,
      inFreeze,
      pauseMs: win.maxGapMs,
      perSecond: (stats.writes * 1000) / stats.elapsedMs,
      retries: stats.retries,
    };
  } finally {
    await writer.stop();
  }
}

/**
 * BENCH_TRACE_CUTOVER=1: both servers log every statement and replication command (with ms timestamps) during the
 * cutover; the slices go to /tmp/bench-cutover-<name>-{source,target}-pg.log, to see where the freeze goes.
 */
async function startTrace(servers: {
  readonly source: EmbeddedPostgres;
  readonly target: EmbeddedPostgres;
}): Promise<(name: string) => Promise<void>> {
  const all = [servers.source, servers.target];
  const set = (on: boolean): Promise<unknown> =>
    Promise.all(
      all.map((sv) =>
        withPg(sv.url(), async (c) => {
          await c.query(`ALTER SYSTEM SET log_min_duration_statement = ${on ? 0 : -1}`);
          await c.query(`ALTER SYSTEM SET log_replication_commands = ${on ? 'on' : 'off'}`);
          await c.query(`ALTER SYSTEM SET log_line_prefix = '%m [%p] %a %u '`);
          await c.query('SELECT pg_reload_conf()');
        }),
      ),
    );
  const from = all.map((sv) => fs.statSync(sv.logFile).size);
  await set(true);
  return async (name) => {
    await set(false);
    all.forEach((sv, i) => {
      const buf = fs.readFileSync(sv.logFile).subarray(from[i]);
      fs.writeFileSync(`/tmp/bench-cutover-${name}-${i === 0 ? 'source' : 'target'}-pg.log`, buf);
    });
  };
}

const kib = (b: number): string => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`);

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => fs.existsSync(path.join(d, cmd)));
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
