/**
 * Benchmark: copying the "clinic" dataset (issue 4).
 *
 *   node --import tsx bench/copy.ts            (or `npm run bench`, which runs this after plan-1000)
 *
 * Starts an embedded PostgreSQL 15 (source) and 17 (target) once, generates the dataset on the source with psql and
 * ../shared/bench/gen.sql, then, each into a fresh target database:
 *   pgshift  `apply` (schema + data + indexes/constraints + its default verification) in a child process
 *            (bench/copy-child.ts); pgshift-none the same with verify.checksums none, then `verify --full` alone
 *            on what it copied (timed apart);
 *   pgcopydb `pgcopydb clone --table-jobs N --index-jobs N` (Debian's pgcopydb; skipped with a message when absent);
 *   floor    pre-data schema (pg_restore), node-postgres + pg-copy-streams binary COPY per table, 2 tables at a time
 *            (child process), then post-data (pg_restore -j2);
 *   psql     pre-data, `psql \copy ... (format binary) | psql \copy ...` one table at a time, post-data;
 *   pg_dump  `pg_dump -Fd -j2` to disk + `pg_restore -j2` (default compression).
 * Then pgshift alone at several batch sizes (scale 0.2) and its peak RSS at other scales. Prints markdown.
 *
 * Environment (all optional):
 *   BENCH_SCALE=1            dataset scale of the main comparison (1 = 5M rows, ~1.5 GB); 0.2 is a quick check
 *   BENCH_RUNS=1             runs of each method in the main comparison (interleaved)
 *   BENCH_METHODS=floor,pgshift,pgshift-none,pgcopydb,pgdump   (also: psql)
 *   BENCH_BATCH=             pgshift copy.batch_size in the main comparison (default: pgshift's default)
 *   BENCH_PARALLEL=2         pgshift copy.parallel and the floor's tables at a time
 *   BENCH_SWEEP=1000,10000,100000   pgshift batch sizes measured at BENCH_SWEEP_SCALE (empty: skip)
 *   BENCH_SWEEP_SCALE=0.2
 *   BENCH_RSS_SCALES=0.2,2   scales at which pgshift's peak RSS is measured (empty: skip); skipped when disk is short
 *   BENCH_CHECKSUMS=         pgshift's verify.checksums (none | sampled | full; default: the config default, full)
 *   BENCH_RETRIES=2          a run during which other processes used over 10 % of the CPUs is measured again (at most N times)
 *   BENCH_FSYNC=on           fsync (and full_page_writes) of both servers
 *   BENCH_GEN_SQL=../shared/bench/gen.sql (relative to the repository)
 *   BENCH_JSON=FILE          also write every measurement as JSON
 *   BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=d'  node options of the node children (floor and pgshift: a profile)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { introspect } from '../src/catalog/introspect.js';
import { orderForCreate } from '../src/catalog/order.js';
import { DDL_SESSION_SQL } from '../src/catalog/session.js';
import { startEmbedded } from '../test/support/embedded.js';
import type { EmbeddedPostgres } from '../test/support/embedded.js';
import { quoteIdent, withPg } from '../test/support/sql.js';
import type { ChildResult, Span } from './copy-child.js';
import { childrenCpuSeconds, machineBusySeconds, serverCpuSeconds } from './proc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');

const env = process.env;
const num = (v: string | undefined, d: number): number => (v === undefined || v === '' ? d : Number(v));
const list = (v: string | undefined, d: string): string[] =>
  (v ?? d)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const SCALE = num(env.BENCH_SCALE, 1);
const RUNS = Math.max(1, num(env.BENCH_RUNS, 1));
const METHODS = list(env.BENCH_METHODS, 'floor,pgshift,pgshift-none,pgcopydb,pgdump');
/** undefined: pgshift's default copy.batch_size (what a user gets) */
const BATCH: number | undefined = env.BENCH_BATCH ? Number(env.BENCH_BATCH) : undefined;
const PARALLEL = num(env.BENCH_PARALLEL, 2);
const SWEEP = list(env.BENCH_SWEEP, '1000,10000,100000').map(Number);
const SWEEP_SCALE = num(env.BENCH_SWEEP_SCALE, 0.2);
const RSS_SCALES = list(env.BENCH_RSS_SCALES, '0.2,2').map(Number);
const CHECKSUMS = env.BENCH_CHECKSUMS as 'none' | 'sampled' | 'full' | undefined;
const RETRIES = Math.max(0, num(env.BENCH_RETRIES, 2));
const FSYNC = (env.BENCH_FSYNC ?? 'on') !== 'off';
const NODE_ARGS = (env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const GEN_SQL = path.resolve(REPO, env.BENCH_GEN_SQL ?? '../shared/bench/gen.sql');
const MiB = 1024 * 1024;

const log = (msg: string): void =>
  void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/* ------------------------------------------------------------------------------------------------ processes */

interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command (no shell unless it is bash -c), collects its output, kills it after `timeoutMs`. */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Exec> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      cwd: REPO,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-20_000)));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${opts.timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 3_600_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${err.message}`, ms: performance.now() - t0 });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

function onPath(bin: string): boolean {
  return (env.PATH ?? '').split(':').some((d) => d && fs.existsSync(path.join(d, bin)));
}

async function must(what: string, p: Promise<Exec>): Promise<Exec> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim().slice(-2000)}`);
  return r;
}

/* ------------------------------------------------------------------------------------------------ CPU accounting */

/** CPU seconds used so far by a server: postmaster + its exited children + its live children. */
const serverCpu = (server: EmbeddedPostgres): number => serverCpuSeconds(server.dataDir);

/** Busy CPU seconds of the whole machine so far (all cores). */
const machineBusy = machineBusySeconds;
const childrenCpu = childrenCpuSeconds;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (at most `maxMs`) for two seconds during which the machine is at least 85 % idle; returns the last busy share. */
async function quiet(maxMs = 180_000): Promise<number> {
  const cores = os.cpus().length;
  const deadline = Date.now() + maxMs;
  for (;;) {
    const b0 = machineBusy();
    await sleep(2000);
    const share = (machineBusy() - b0) / 2 / cores;
    if (share < 0.15 || Date.now() > deadline) return share;
  }
}

/** A run during which other processes (not the two servers, not our clients) used more than 10 % of the machine. */
function disturbed(m: Measure): boolean {
  return m.otherCpuS > 0.1 * m.wallS * os.cpus().length;
}

/** measure(), again (at most RETRIES times) when the run was disturbed by other work on the machine. */
async function steady(
  s: Servers,
  ds: Dataset,
  method: Method,
  runNo: number,
  batch: number | undefined = BATCH,
): Promise<Measure> {
  for (let attempt = 0; ; attempt++) {
    const m = await measure(s, ds, method, runNo, batch);
    if (!m.ok || !disturbed(m)) return m;
    if (attempt >= RETRIES) {
      m.note += `disturbed: ${f1(m.otherCpuS)} CPU-s of other processes during the run (${attempt + 1} attempts); `;
      return m;
    }
    log(`  disturbed by other processes (${f1(m.otherCpuS)} CPU-s): measuring again`);
  }
}

/* ------------------------------------------------------------------------------------------------ databases */

interface Servers {
  source: EmbeddedPostgres;
  target: EmbeddedPostgres;
}

interface Dataset {
  db: string;
  scale: number;
  tables: Array<{ name: string; bytes: number; rows: number }>;
  rows: number;
  dbBytes: number;
  heapBytes: number;
  genSeconds: number;
  /** pg_dump -Fc --schema-only of the source, for the pre-data / post-data sections (null without pg_dump) */
  schemaDump: string | null;
}

async function scalar<T>(url: string, sql: string): Promise<T> {
  return withPg(url, async (c) => (await c.query(sql)).rows[0]?.v as T);
}

async function counts(url: string, tables: readonly string[]): Promise<Map<string, number>> {
  return withPg(url, async (c) => {
    const out = new Map<string, number>();
    for (const t of tables) {
      const r = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${t.split('.').map(quoteIdent).join('.')}`);
      out.set(t, Number(r.rows[0]?.n ?? -1));
    }
    return out;
  });
}

async function verify(ds: Dataset, targetUrl: string): Promise<string> {
  const got = await counts(
    targetUrl,
    ds.tables.map((t) => t.name),
  );
  const bad = ds.tables
    .filter((t) => got.get(t.name) !== t.rows)
    .map((t) => `${t.name} ${got.get(t.name)} of ${t.rows}`);
  return bad.length === 0 ? 'ok' : `MISMATCH: ${bad.join(', ')}`;
}

function dbName(scale: number): string {
  return `clinic_${String(scale).replace(/\W/g, '_')}`;
}

async function generate(s: Servers, scale: number, tmp: string): Promise<Dataset> {
  const db = dbName(scale);
  await withPg(s.source.url(), (c) => c.query(`CREATE DATABASE ${quoteIdent(db)} TEMPLATE template0`));
  const url = s.source.url(db);
  log(`generating the clinic dataset at scale ${scale} on the source (psql -f ${GEN_SQL})...`);
  const g = await must(
    'psql -f gen.sql',
    run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', `scale=${scale}`, '-d', url, '-f', GEN_SQL], {
      timeoutMs: 7_200_000,
    }),
  );
  const tables = await withPg(url, async (c) => {
    const r = await c.query<{ name: string; bytes: string }>(
      `SELECT n.nspname || '.' || c.relname AS name, pg_table_size(c.oid) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY pg_table_size(c.oid) DESC, 1`,
    );
    return r.rows.map((t) => ({ name: t.name, bytes: Number(t.bytes), rows: 0 }));
  });
  const n = await counts(
    url,
    tables.map((t) => t.name),
  );
  for (const t of tables) t.rows = n.get(t.name) ?? 0;
  let schemaDump: string | null = null;
  if (onPath('pg_dump') && onPath('pg_restore')) {
    schemaDump = path.join(tmp, `${db}.schema.dump`);
    await must('pg_dump --schema-only', run('pg_dump', ['-Fc', '--schema-only', '-f', schemaDump, '-d', url]));
  }
  const ds: Dataset = {
    db,
    scale,
    tables,
    rows: tables.reduce((a, t) => a + t.rows, 0),
    dbBytes: Number(await scalar<string>(url, 'SELECT pg_database_size(current_database()) AS v')),
    heapBytes: tables.reduce((a, t) => a + t.bytes, 0),
    genSeconds: g.ms / 1000,
    schemaDump,
  };
  log(
    `scale ${scale}: ${ds.rows.toLocaleString('en-US')} rows, ${(ds.dbBytes / MiB).toFixed(0)} MiB (heap+TOAST ${(ds.heapBytes / MiB).toFixed(0)} MiB), generated in ${ds.genSeconds.toFixed(0)} s`,
  );
  return ds;
}

/* ------------------------------------------------------------------------------------------------ schema sections */

/** pre-data or post-data of the source schema: pg_restore of the schema-only dump, else pgshift's own catalog. */
async function schemaSection(
  ds: Dataset,
  sourceUrl: string,
  targetUrl: string,
  section: 'pre-data' | 'post-data',
): Promise<void> {
  if (ds.schemaDump) {
    const args = [`--section=${section}`, '--no-owner', '--no-acl', '--exit-on-error', '-d', targetUrl, ds.schemaDump];
    if (section === 'post-data') args.unshift(`-j${PARALLEL}`);
    await must(`pg_restore --section=${section}`, run('pg_restore', args));
    return;
  }
  // no pg_restore on this machine: the same statements from pgshift's catalog, one after the other
  const cat = await withPg(sourceUrl, (c) => introspect(c));
  const objects = orderForCreate(cat.objects).filter((o) => o.phase === section);
  await withPg(targetUrl, async (c) => {
    await c.query(DDL_SESSION_SQL);
    for (const o of objects) for (const stmt of o.createSql) await c.query(stmt);
  });
}

/* ------------------------------------------------------------------------------------------------ methods */

type Method = 'pgshift' | 'pgshift-none' | 'floor' | 'psql' | 'pgdump' | 'pgcopydb';

interface Measure {
  method: Method;
  label: string;
  scale: number;
  run: number;
  batch?: number;
  ok: boolean;
  note: string;
  /** wall time of the method; for the node children without their process start (module loading) */
  wallS: number;
  /** node child: spawn to the start of its work (node start + module loading), not in wallS */
  startS?: number;
  /** pgshift: its verification action (part of wallS) */
  verifyS?: number;
  /** pgshift-none: `pgshift verify --full` alone afterwards, on what it copied (not in wallS) */
  verifyAloneS?: number;
  phases: Record<string, number>;
  /** heap+TOAST MiB/s over the data phase */
  dataMiBs?: number;
  clientRssMiB?: number;
  clientIdleRssMiB?: number;
  clientCpuS: number;
  sourceCpuS: number;
  targetCpuS: number;
  /** busy CPU-s of the machine not accounted to the two servers or our children (other users' work) */
  otherCpuS: number;
  busyBefore: number;
  spans?: Span[];
}

/**
 * How the child runs: compiled with tsc into the temp directory (as the built CLI runs: no tsx loader in the
 * measured process), or, when that fails or BENCH_CHILD=tsx, from the sources through tsx.
 */
let childCommand: string[] = ['--import', 'tsx', path.join(here, 'copy-child.ts')];
let childHow = 'tsx (sources transpiled at load)';

async function buildChild(tmp: string): Promise<void> {
  if (env.BENCH_CHILD === 'tsx') return;
  const out = path.join(tmp, 'build');
  const tsconfig = path.join(tmp, 'tsconfig.bench.json');
  fs.writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: path.join(REPO, 'tsconfig.json'),
      compilerOptions: {
        rootDir: REPO,
        outDir: out,
        noEmit: false,
        sourceMap: false,
        declaration: false,
        incremental: false,
      },
      files: [path.join(here, 'copy-child.ts')],
      include: [],
    }),
  );
  const r = await run(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig]);
  const js = path.join(out, 'bench', 'copy-child.js');
  if (!fs.existsSync(js)) {
    log(`could not compile bench/copy-child.ts (${r.stdout.trim().slice(0, 500)}); running it through tsx`);
    return;
  }
  // the compiled tree resolves packages and reads schemas/ relative to itself
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(out, 'node_modules'));
  fs.symlinkSync(path.join(REPO, 'schemas'), path.join(out, 'schemas'));
  childCommand = [js];
  childHow = `compiled with tsc (plain node, no loader)${r.code === 0 ? '' : ' despite type errors elsewhere'}`;
}

function spawnChild(args: object, timeoutMs: number): Promise<{ exec: Exec; result: ChildResult | null }> {
  return run(process.execPath, [...NODE_ARGS, ...childCommand, JSON.stringify(args)], { timeoutMs }).then((exec) => {
    const line = exec.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
    return { exec, result: line ? (JSON.parse(line.slice('BENCH_RESULT '.length)) as ChildResult) : null };
  });
}

const PSQL = ['-X', '-q', '-v', 'ON_ERROR_STOP=1'];

async function measure(
  s: Servers,
  ds: Dataset,
  method: Method,
  runNo: number,
  batch: number | undefined = BATCH,
): Promise<Measure> {
  const target = `bench_${method.replace('-', '_')}_${runNo}`;
  const batchText = batch === undefined ? 'default batches' : `batch ${batch.toLocaleString('en-US')}`;
  const label =
    method === 'pgshift'
      ? `pgshift apply, ${batchText}, parallel ${PARALLEL}, ${CHECKSUMS ? `verify checksums ${CHECKSUMS}` : 'default verification (counts + full checksums)'}`
      : method === 'pgshift-none'
        ? `pgshift apply, ${batchText}, parallel ${PARALLEL}, verify checksums none`
        : method === 'pgcopydb'
          ? `pgcopydb clone, --table-jobs ${PARALLEL} --index-jobs ${PARALLEL} (verifies nothing)`
          : method === 'floor'
            ? `node pg-copy-streams binary, ${PARALLEL} tables at a time`
            : method === 'psql'
              ? 'psql \\copy binary pipe, 1 table at a time'
              : `pg_dump -Fd -j${PARALLEL} + pg_restore -j${PARALLEL}`;
  await withPg(s.target.url(), (c) => c.query(`CREATE DATABASE ${quoteIdent(target)} TEMPLATE template0`));
  const src = s.source.url(ds.db);
  const tgt = s.target.url(target);
  await Promise.all([withPg(src, (c) => c.query('CHECKPOINT')), withPg(tgt, (c) => c.query('CHECKPOINT'))]);
  const busyBefore = await quiet();
  const timeoutMs = 1_800_000 + ds.scale * 1_800_000;
  const m: Measure = {
    method,
    label,
    scale: ds.scale,
    run: runNo,
    ok: true,
    note: '',
    wallS: 0,
    phases: {},
    clientCpuS: 0,
    sourceCpuS: 0,
    targetCpuS: 0,
    otherCpuS: 0,
    busyBefore,
  };
  if (method === 'pgshift' || method === 'pgshift-none') m.batch = batch;
  log(`${label} at scale ${ds.scale} (run ${runNo})...`);

  const cpu0 = {
    src: serverCpu(s.source),
    tgt: serverCpu(s.target),
    kids: childrenCpu(),
    busy: machineBusy(),
    self: process.cpuUsage(),
  };
  const t0 = performance.now();
  const mark = (): number => (performance.now() - t0) / 1000;
  try {
    if (method === 'pgshift' || method === 'pgshift-none') {
      const checksums = method === 'pgshift-none' ? 'none' : CHECKSUMS;
      const { exec, result } = await spawnChild(
        {
          mode: 'pgshift',
          source: src,
          target: tgt,
          ...(batch === undefined ? {} : { batchSize: batch }),
          parallel: PARALLEL,
          ...(checksums ? { checksums } : {}),
        },
        timeoutMs,
      );
      if (!result || !result.ok)
        throw new Error(result?.error ?? `child exit ${exec.code}: ${exec.stderr.slice(-2000)}`);
      const copies = result.spans.filter((x) => x.kind === 'copy_table');
      const firstCopy = Math.min(...copies.map((x) => x.start)) / 1000;
      const lastCopy = Math.max(...copies.map((x) => x.end)) / 1000;
      m.startS = exec.ms / 1000 - result.ms / 1000;
      // apply ends with its verification gate (row counts + checksums by default): timed on its own, and the ratio
      // to the floor is also given without it (the other methods verify nothing)
      const v = result.spans.find((x) => x.kind === 'verify' && x.end >= 0);
      const verifyS = v ? (v.end - v.start) / 1000 : 0;
      const end = v ? v.start / 1000 : result.ms / 1000;
      m.phases = {
        'schema (incl. plan)': firstCopy,
        data: lastCopy - firstCopy,
        'indexes after last copy': end - lastCopy,
        verify: verifyS,
      };
      m.wallS = result.ms / 1000;
      m.verifyS = verifyS;
      m.spans = result.spans;
      m.clientRssMiB = result.maxRssKb / 1024;
      m.clientIdleRssMiB = result.rssIdleKb / 1024;
      const cps = await withPg(tgt, (c) =>
        c.query<{ unit: string; rows: string }>('SELECT unit, rows_copied AS rows FROM pgshift.migration_checkpoints'),
      );
      if (cps.rows.length !== ds.tables.length)
        m.note += `${cps.rows.length} checkpoints for ${ds.tables.length} tables; `;
    } else if (method === 'floor') {
      await schemaSection(ds, src, tgt, 'pre-data');
      const tData = mark();
      const { exec, result } = await spawnChild(
        { mode: 'floor', source: src, target: tgt, tables: ds.tables.map((t) => t.name), parallel: PARALLEL },
        timeoutMs,
      );
      if (!result || !result.ok)
        throw new Error(result?.error ?? `child exit ${exec.code}: ${exec.stderr.slice(-2000)}`);
      const tPost = mark();
      await schemaSection(ds, src, tgt, 'post-data');
      m.startS = exec.ms / 1000 - result.ms / 1000;
      m.phases = { 'schema (pre-data)': tData, data: result.ms / 1000, 'indexes/constraints': mark() - tPost };
      m.wallS = mark() - m.startS;
      const offset = (tData + m.startS) * 1000;
      m.spans = result.spans.map((x) => ({ ...x, start: x.start + offset, end: x.end + offset }));
      m.clientRssMiB = result.maxRssKb / 1024;
      m.clientIdleRssMiB = result.rssIdleKb / 1024;
    } else if (method === 'pgcopydb') {
      const dir = path.join(path.dirname(ds.schemaDump ?? os.tmpdir()), `${target}.pgcopydb`);
      try {
        await must(
          'pgcopydb clone',
          run(
            'pgcopydb',
            [
              'clone',
              '--source',
              src,
              '--target',
              tgt,
              '--table-jobs',
              String(PARALLEL),
              '--index-jobs',
              String(PARALLEL),
              '--dir',
              dir,
              '--no-owner',
              '--no-acl',
            ],
            { timeoutMs },
          ),
        );
        m.phases = { clone: mark() };
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    } else if (method === 'psql') {
      await schemaSection(ds, src, tgt, 'pre-data');
      const tData = mark();
      m.spans = [];
      for (const t of ds.tables) {
        const q = t.name.split('.').map(quoteIdent).join('.');
        const start = performance.now() - t0;
        await must(
          `psql \\copy ${t.name}`,
          run(
            'bash',
            [
              '-c',
              `set -o pipefail; psql ${PSQL.join(' ')} -d "$SRC" -c "$OUT" | psql ${PSQL.join(' ')} -d "$TGT" -c "$IN"`,
            ],
            {
              env: {
                SRC: src,
                TGT: tgt,
                OUT: `\\copy ${q} to pstdout (format binary)`,
                IN: `\\copy ${q} from pstdin (format binary)`,
              },
              timeoutMs,
            },
          ),
        );
        m.spans.push({ id: `copy ${t.name}`, kind: 'copy_table', phase: 'data', start, end: performance.now() - t0 });
      }
      const tPost = mark();
      await schemaSection(ds, src, tgt, 'post-data');
      m.phases = { 'schema (pre-data)': tData, data: tPost - tData, 'indexes/constraints': mark() - tPost };
    } else {
      const dir = path.join(path.dirname(ds.schemaDump ?? os.tmpdir()), `${target}.dir`);
      try {
        await must('pg_dump -Fd', run('pg_dump', ['-Fd', `-j${PARALLEL}`, '-f', dir, '-d', src], { timeoutMs }));
        const tDump = mark();
        const r = await run('pg_restore', [`-j${PARALLEL}`, '--no-owner', '--no-acl', '-d', tgt, dir], { timeoutMs });
        if (r.code !== 0) m.note += `pg_restore exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}; `;
        m.phases = { pg_dump: tDump, pg_restore: mark() - tDump };
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    if (m.startS === undefined) m.wallS = mark();
  } catch (err) {
    m.wallS = mark();
    m.ok = false;
    m.note += (err as Error).message.slice(0, 600);
  }
  const self = process.cpuUsage(cpu0.self);
  m.sourceCpuS = serverCpu(s.source) - cpu0.src;
  m.targetCpuS = serverCpu(s.target) - cpu0.tgt;
  m.clientCpuS = childrenCpu() - cpu0.kids;
  const ours = m.sourceCpuS + m.targetCpuS + m.clientCpuS + (self.user + self.system) / 1e6;
  m.otherCpuS = Math.max(0, machineBusy() - cpu0.busy - ours);
  if (m.phases.data !== undefined) m.dataMiBs = ds.heapBytes / MiB / m.phases.data;
  if (m.ok && method === 'pgshift-none') {
    // `pgshift verify --full` alone, on what this run copied (both sides read again; not in this run's wall time)
    const { exec, result } = await spawnChild(
      { mode: 'verify', source: src, target: tgt, parallel: PARALLEL },
      timeoutMs,
    );
    if (result?.ok) m.verifyAloneS = result.ms / 1000;
    else m.note += `verify --full alone: ${result?.error ?? `exit ${exec.code}`}; `;
  }
  if (m.ok) {
    const v = await verify(ds, tgt).catch((e: Error) => `verify failed: ${e.message}`);
    if (v !== 'ok') {
      m.ok = false;
      m.note += v;
    }
  }
  await withPg(s.target.url(), (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(target)} WITH (FORCE)`));
  await withPg(s.target.url(), (c) => c.query('CHECKPOINT'));
  log(
    `  ${m.ok ? 'ok' : 'FAILED'} ${m.wallS.toFixed(1)} s${m.clientRssMiB ? `, peak RSS ${m.clientRssMiB.toFixed(0)} MiB` : ''}${m.note ? ` (${m.note})` : ''}`,
  );
  return m;
}

/* ------------------------------------------------------------------------------------------------ report */

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const f1 = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(1));
const f0 = (n: number | undefined): string =>
  n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US');

function comparison(ds: Dataset, ms: Measure[], floorKey = 'floor'): string {
  const groups = new Map<string, Measure[]>();
  for (const m of ms) {
    const key = m.method === 'pgshift' || m.method === 'pgshift-none' ? `${m.method}:${m.batch}` : m.method;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const floor = groups
    .get(floorKey)
    ?.filter((m) => m.ok)
    .map((m) => m.wallS);
  const floorMed = floor && floor.length ? median(floor) : undefined;
  const rows = [...groups.values()].map((g) => {
    const okRuns = g.filter((m) => m.ok);
    const walls = okRuns.map((m) => m.wallS);
    const med = walls.length ? median(walls) : NaN;
    const first = g[0] as Measure;
    const phases =
      Object.keys(first.phases)
        .map((k) => `${k} ${f1(median(okRuns.map((m) => m.phases[k] ?? NaN)))}`)
        .join(' + ') + (first.startS === undefined ? '' : `; start ${f1(median(okRuns.map((m) => m.startS ?? NaN)))}`);
    const mid = (f: (m: Measure) => number | undefined): number | undefined => {
      const v = okRuns.map(f).filter((x): x is number => x !== undefined);
      return v.length ? median(v) : undefined;
    };
    const rss = mid((m) => m.clientRssMiB);
    const idle = mid((m) => m.clientIdleRssMiB);
    const notes = g.filter((m) => m.note).map((m) => `run ${m.run}: ${m.note}`);
    return (
      `| ${first.label} | ${okRuns.length}/${g.length} | **${f1(med)}**${walls.length > 1 ? ` (${f1(Math.min(...walls))}–${f1(Math.max(...walls))})` : ''} | ${f0(ds.rows / med)} | ${f0(ds.dbBytes / MiB / med)} | ` +
      `${floorMed && walls.length ? (med / floorMed).toFixed(2) : '–'}${floorMed && first.verifyS !== undefined ? ` (${(median(okRuns.map((m) => m.wallS - (m.verifyS ?? 0))) / floorMed).toFixed(2)} without verify)` : ''} | ${phases} | ${f0(mid((m) => m.dataMiBs))} | ` +
      `${rss === undefined ? '–' : `${f0(rss)} (idle ${f0(idle)})`} | ${f1(mid((m) => m.clientCpuS))} / ${f1(mid((m) => m.sourceCpuS))} / ${f1(mid((m) => m.targetCpuS))} | ${f1(mid((m) => m.otherCpuS))} |` +
      (notes.length ? ` ${notes.join('; ').replace(/\|/g, '/')}` : '')
    );
  });
  const alone = ms.filter((m) => m.ok && m.verifyAloneS !== undefined).map((m) => m.verifyAloneS as number);
  if (alone.length)
    rows.push(
      `| pgshift verify --full alone, after a copy | ${alone.length}/${alone.length} | **${f1(median(alone))}**${alone.length > 1 ? ` (${f1(Math.min(...alone))}–${f1(Math.max(...alone))})` : ''} | ${f0(ds.rows / median(alone))} | ${f0(ds.dbBytes / MiB / median(alone))} | ${floorMed ? (median(alone) / floorMed).toFixed(2) : '–'} | both sides read | – | – | – | – |`,
    );
  const med = (method: Method): number | undefined => {
    const w = ms.filter((m) => m.ok && m.method === method).map((m) => m.wallS);
    return w.length ? median(w) : undefined;
  };
  const goals: string[] = [];
  const pg = med('pgshift');
  const copydb = med('pgcopydb');
  if (pg !== undefined && floorMed)
    goals.push(`pgshift with its default verification: ${(pg / floorMed).toFixed(2)} × the floor (goal at most 1.15)`);
  if (pg !== undefined && copydb !== undefined)
    goals.push(
      `${pg < copydb ? 'faster' : 'slower'} than pgcopydb clone (${f1(pg)} s vs ${f1(copydb)} s, ${(pg / copydb).toFixed(2)} ×)`,
    );
  if (alone.length && floorMed)
    goals.push(`\`verify --full\` alone: ${(median(alone) / floorMed).toFixed(2)} × the floor (goal at most 0.5)`);
  return [
    '| method | ok runs | median wall s (min–max) | rows/s | MiB/s | × floor wall | phases s (median) | data MiB/s | client peak RSS MiB | CPU-s client / source / target | other CPU-s |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    ...(goals.length ? ['', `Goals of issue 14, medians of this run: ${goals.join('; ')}.`] : []),
  ].join('\n');
}

/** Copy time per table, pgshift vs the floor (median over runs). */
function perTable(ds: Dataset, ms: Measure[]): string {
  const spanOf = (m: Measure, t: string): number | undefined => {
    const x = m.spans?.find((s) => s.id === `copy ${t}`);
    return x && x.end >= 0 ? (x.end - x.start) / 1000 : undefined;
  };
  const methods = [
    ...new Set(
      ms
        .filter((m) => m.ok && m.spans)
        .map((m) => (m.method === 'pgshift' || m.method === 'pgshift-none' ? `${m.method}:${m.batch}` : m.method)),
    ),
  ];
  const head = `| table | rows | heap+TOAST MiB | ${methods.map((k) => `${k} s`).join(' | ')} |`;
  const lines = ds.tables.map((t) => {
    const cells = methods.map((k) => {
      const v = ms
        .filter(
          (m) =>
            m.ok && (m.method === 'pgshift' || m.method === 'pgshift-none' ? `${m.method}:${m.batch}` : m.method) === k,
        )
        .map((m) => spanOf(m, t.name))
        .filter((x): x is number => x !== undefined);
      return v.length ? f1(median(v)) : '–';
    });
    return `| ${t.name} | ${t.rows.toLocaleString('en-US')} | ${f0(t.bytes / MiB)} | ${cells.join(' | ')} |`;
  });
  return [head, `|---|---|---|${methods.map(() => '---').join('|')}|`, ...lines].join('\n');
}

/** pgshift's action timeline of one run: when each copy and each after-data object ran. */
function timeline(m: Measure): string {
  const spans = (m.spans ?? []).filter((x) => x.phase !== 'pre-data').sort((a, b) => a.start - b.start);
  return spans
    .map((x) => `    ${f1(x.start / 1000).padStart(6)} → ${f1(x.end / 1000).padStart(6)} s  ${x.id}`)
    .join('\n');
}

/* ------------------------------------------------------------------------------------------------ main */

async function main(): Promise<void> {
  if (!onPath('psql')) {
    console.log(
      'psql is not on PATH: the clinic dataset is generated with psql and ../shared/bench/gen.sql, so this benchmark cannot run here. Install the PostgreSQL client (e.g. apt-get install postgresql-client).',
    );
    return;
  }
  if (!fs.existsSync(GEN_SQL)) {
    console.log(`${GEN_SQL} not found (set BENCH_GEN_SQL): cannot generate the clinic dataset.`);
    return;
  }
  const haveDump = onPath('pg_dump') && onPath('pg_restore');
  const haveCopydb = onPath('pgcopydb');
  const methods = METHODS.filter((x): x is Method =>
    ['pgshift', 'pgshift-none', 'floor', 'psql', 'pgdump', 'pgcopydb'].includes(x),
  ).filter((x) => (x !== 'pgdump' || haveDump) && (x !== 'pgcopydb' || (haveCopydb && haveDump)));
  const skipped: string[] = [];
  if (METHODS.includes('pgcopydb') && !(haveCopydb && haveDump))
    skipped.push(
      'pgcopydb is not on PATH (Debian: apt-get install pgcopydb; it also needs pg_dump and pg_restore): the pgcopydb row is skipped',
    );
  if (!haveDump)
    skipped.push(
      "pg_dump/pg_restore are not on PATH: the pg_dump row is skipped and the floor and psql rows load the schema from pgshift's catalog (serially) instead of pg_restore",
    );

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgshift-bench-'));
  const rmTmp = (): void => fs.rmSync(tmp, { recursive: true, force: true });
  process.on('exit', rmTmp);
  const settings = { shared_buffers: '512MB', max_wal_size: '4GB', fsync: FSYNC, full_page_writes: FSYNC };
  const t0 = performance.now();
  await buildChild(tmp);
  const [source, target] = await Promise.all([
    startEmbedded({ major: 15, settings }),
    startEmbedded({ major: 17, settings }),
  ]);
  const s: Servers = { source, target };
  const all: Measure[] = [];
  const out: string[] = [];
  try {
    const versions = await Promise.all([
      scalar<string>(source.url(), 'SELECT version() AS v'),
      scalar<string>(target.url(), 'SELECT version() AS v'),
    ]);
    const cpu = os.cpus();
    out.push(
      `Machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}; ` +
        `source ${versions[0]?.split(',')[0]}, target ${versions[1]?.split(',')[0]} (embedded, npm); both with shared_buffers=512MB, max_wal_size=4GB, ` +
        `fsync=${FSYNC ? 'on' : 'off'}, full_page_writes=${FSYNC ? 'on' : 'off'}, wal_level=logical; client tools: ${haveDump ? 'psql/pg_dump/pg_restore 15 (Debian)' : 'psql only'}. ` +
        `The pgshift and floor clients run in child processes, ${childHow}; their wall times leave out the process start (node + module loading, shown as "start").`,
    );
    const datasets = new Map<number, Dataset>();
    const dataset = async (scale: number): Promise<Dataset> => {
      const have = datasets.get(scale);
      if (have) return have;
      const ds = await generate(s, scale, tmp);
      datasets.set(scale, ds);
      return ds;
    };
    const dropDataset = async (scale: number): Promise<void> => {
      const ds = datasets.get(scale);
      if (!ds) return;
      datasets.delete(scale);
      await withPg(source.url(), (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(ds.db)} WITH (FORCE)`));
      if (ds.schemaDump) fs.rmSync(ds.schemaDump, { force: true });
    };
    const describe = (ds: Dataset): string =>
      `Dataset: gen.sql scale ${ds.scale}: ${ds.rows.toLocaleString('en-US')} rows, pg_database_size ${ds.dbBytes.toLocaleString('en-US')} B (${f0(ds.dbBytes / MiB)} MiB), ` +
      `heap+TOAST ${f0(ds.heapBytes / MiB)} MiB (generated in ${f0(ds.genSeconds)} s).`;

    // 1. the main comparison, methods interleaved run by run
    const main = await dataset(SCALE);
    const mainRuns: Measure[] = [];
    for (let r = 1; r <= RUNS; r++) for (const method of methods) mainRuns.push(await steady(s, main, method, r));
    all.push(...mainRuns);
    out.push(
      `### Methods at scale ${SCALE} (${RUNS} run${RUNS > 1 ? 's' : ''} each, interleaved)`,
      describe(main),
      comparison(main, mainRuns),
      '',
      'Copy time per table (from the start of its COPY to its commit):',
      '',
      perTable(main, mainRuns),
    );
    const firstPgshift = mainRuns.find((m) => m.method === 'pgshift' && m.ok);
    if (firstPgshift)
      out.push(
        '',
        'pgshift action timeline (run 1; seconds from the start of apply; pre-data objects left out):',
        '',
        '```',
        timeline(firstPgshift),
        '```',
      );

    // 2. batch sizes
    if (SWEEP.length > 0) {
      const sw = await dataset(SWEEP_SCALE);
      const sweep: Measure[] = [];
      sweep.push(await steady(s, sw, 'floor', 1));
      for (const b of SWEEP) sweep.push(await steady(s, sw, 'pgshift', 1, b));
      all.push(...sweep);
      out.push(
        '',
        `### pgshift batch size at scale ${SWEEP_SCALE}`,
        describe(sw),
        comparison(sw, sweep),
        '',
        perTable(sw, sweep),
      );
    }

    // 3. peak RSS across scales
    const rss: Array<{ scale: number; m: Measure | null; why?: string }> = [];
    for (const scale of RSS_SCALES) {
      const reuse = all.find((m) => m.method === 'pgshift' && m.ok && m.scale === scale && m.batch === BATCH);
      if (reuse) {
        rss.push({ scale, m: reuse });
        continue;
      }
      const needGiB = (3 * 1.6 * scale + 8) * (datasets.has(scale) ? 0.5 : 1);
      const freeGiB = (fs.statfsSync(os.tmpdir()).bavail * fs.statfsSync(os.tmpdir()).bsize) / 2 ** 30;
      if (freeGiB < needGiB) {
        rss.push({
          scale,
          m: null,
          why: `skipped: ${freeGiB.toFixed(1)} GiB free in ${os.tmpdir()}, ~${needGiB.toFixed(0)} GiB needed`,
        });
        continue;
      }
      for (const sc of [...datasets.keys()]) if (sc !== scale) await dropDataset(sc); // room on disk and in the cache
      const ds = await dataset(scale);
      const pm = await steady(s, ds, 'pgshift', 1, BATCH);
      const fm = await steady(s, ds, 'floor', 1);
      all.push(pm, fm);
      rss.push({ scale, m: pm });
      out.push('', `### Scale ${scale}`, describe(ds), comparison(ds, [pm, fm]));
    }
    if (rss.length > 0) {
      out.push(
        '',
        `### pgshift peak RSS by scale (${BATCH === undefined ? 'default batches' : `batch ${BATCH.toLocaleString('en-US')}`}, parallel ${PARALLEL})`,
        '',
        '| scale | peak RSS MiB | RSS after imports MiB | wall s |',
        '|---|---|---|---|',
      );
      for (const r of rss)
        out.push(
          r.m
            ? `| ${r.scale} | ${f0(r.m.clientRssMiB)} | ${f0(r.m.clientIdleRssMiB)} | ${f1(r.m.wallS)} |`
            : `| ${r.scale} | ${r.why} | | |`,
        );
      const sweepRss = all.filter((m) => m.method === 'pgshift' && m.ok && m.batch !== BATCH);
      if (sweepRss.length)
        out.push(
          '',
          `Other batch sizes: ${sweepRss.map((m) => `scale ${m.scale} batch ${m.batch}: ${f0(m.clientRssMiB)} MiB`).join('; ')}.`,
        );
    }
    for (const sc of [...datasets.keys()]) await dropDataset(sc);
  } finally {
    await Promise.all([source.dispose(), target.dispose()]);
    rmTmp();
  }
  if (skipped.length) out.unshift(`Skipped: ${skipped.join('; ')}.`);
  out.push('', `Total benchmark time ${f0((performance.now() - t0) / 1000)} s.`);
  if (env.BENCH_JSON) fs.writeFileSync(env.BENCH_JSON, JSON.stringify(all, null, 1));
  console.log(out.join('\n'));
  if (all.some((m) => !m.ok)) process.exitCode = 1;
}

await main();
