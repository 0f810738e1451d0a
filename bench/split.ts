/**
 * Split copy units and workers (issue 15): one large table with a uuid key (no integer key to cut it by), copied
 *
 * - unsplit: one unit, `copy.parallel: 2` (the other slot has nothing to do);
 * - split: `copy.split_tables_larger_than` below the table's size, so it is cut into key ranges sampled from the
 *   source, at copy.parallel 1, 2 and 4;
 * - apply + worker: the split table with `copy.parallel: 1` in apply and one `pgshift worker` beside it, against the
 *   same apply alone.
 *
 * Wall times of the whole `pgshift apply` (schema, copy, primary key, verification), runs interleaved.
 *
 *   BENCH_SPLIT_ROWS=3000000     rows of the table (default 3,000,000: gen.sql's observations)
 *   BENCH_SPLIT_RUNS=2           rounds (default 2; medians)
 *   BENCH_SPLIT_THRESHOLD=64MB   copy.split_tables_larger_than of the split methods (default 64MB)
 *   BENCH_SPLIT_METHODS=...      unsplit,split-1,split-2,split-4,apply-1,apply-1+worker (default all)
 *   BENCH_FSYNC=off              servers without fsync (default on)
 *   BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=d'  node options of the apply and worker processes (a profile)
 *   BENCH_SPLIT_LOGS=dir         keep each apply's JSON log (debug level: every action's span) in dir
 *
 * The CLI runs from dist/ (npm run build first; the bench builds it when it is missing).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { childrenCpuSeconds, machineBusySeconds, serverCpuSeconds, start as startProcess, type Done } from './proc.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { quoteIdent } from '../src/db/ident.js';
import { startEmbedded, type EmbeddedPostgres } from '../test/support/embedded.js';
import { withPg } from '../test/support/sql.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const env = process.env;
const ROWS = Number(env.BENCH_SPLIT_ROWS ?? 3_000_000);
const RUNS = Math.max(1, Number(env.BENCH_SPLIT_RUNS ?? 2));
const THRESHOLD = env.BENCH_SPLIT_THRESHOLD ?? '64MB';
const FSYNC = (env.BENCH_FSYNC ?? 'on') !== 'off';
const NODE_ARGS = (env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const LOGS = env.BENCH_SPLIT_LOGS ?? '';
const METHODS = (env.BENCH_SPLIT_METHODS ?? 'unsplit,split-1,split-2,split-4,apply-1,apply-1+worker')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

const log = (m: string): void =>
  void process.stderr.write(`[bench split ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function start(args: string[], extraEnv: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<Done> } {
  return startProcess(process.execPath, [...NODE_ARGS, path.join(REPO, 'bin', 'run.js'), ...args], {
    cwd: REPO,
    env: extraEnv,
  });
}

interface Method {
  readonly name: string;
  readonly label: string;
  readonly parallel: number;
  readonly split: boolean;
  readonly workers: number;
}

function method(name: string): Method {
  switch (name) {
    case 'unsplit':
      return { name, label: 'one unit, copy.parallel 2', parallel: 2, split: false, workers: 0 };
    case 'split-1':
    case 'split-2':
    case 'split-4': {
      const p = Number(name.slice(6));
      return { name, label: `split, copy.parallel ${p}`, parallel: p, split: true, workers: 0 };
    }
    case 'apply-1':
      return { name, label: 'split, apply alone (copy.parallel 1)', parallel: 1, split: true, workers: 0 };
    case 'apply-1+worker':
      return { name, label: 'split, apply (copy.parallel 1) + 1 worker', parallel: 1, split: true, workers: 1 };
    default:
      throw new Error(`unknown method ${name}`);
  }
}

interface Measure {
  method: string;
  run: number;
  ok: boolean;
  wallS: number;
  parts: number | null;
  unitsByWorker: number | null;
  /** CPU-s the machine was busy during the apply over its wall time: how many of the cores it kept busy */
  coresBusy: number;
  /** CPU-s of the client processes (apply and workers), the source and the target */
  cpu: { client: number; source: number; target: number };
  /** from the apply's start to its last copy's end (the apply's log; workers' copies end before the apply's) */
  copyS: number | null;
  note: string;
}

async function scalar<T>(url: string, sql: string): Promise<T> {
  return withPg(url, async (c) => (await c.query(sql)).rows[0]?.v as T);
}

async function measure(
  source: EmbeddedPostgres,
  target: EmbeddedPostgres,
  m: Method,
  runNo: number,
  tmp: string,
): Promise<Measure> {
  const db = `split_${m.name.replace(/[^a-z0-9]/g, '_')}_${runNo}`;
  await withPg(target.url(), (c) => c.query(`CREATE DATABASE ${quoteIdent(db)} TEMPLATE template0`));
  await withPg(source.url('split_src'), (c) => c.query('CHECKPOINT'));
  await withPg(target.url(db), (c) => c.query('CHECKPOINT'));
  const file = path.join(tmp, `${db}.yaml`);
  fs.writeFileSync(
    file,
    [
      'version: 1',
      'name: bench-split',
      'source:',
      '  url: ${SOURCE_DATABASE_URL}',
      'target:',
      '  url: ${TARGET_DATABASE_URL}',
      `copy: { parallel: ${m.parallel}${m.split ? `, split_tables_larger_than: ${THRESHOLD}` : ''} }`,
      '',
    ].join('\n'),
  );
  const e = { SOURCE_DATABASE_URL: source.url('split_src'), TARGET_DATABASE_URL: target.url(db) };
  const out: Measure = {
    method: m.name,
    run: runNo,
    ok: false,
    wallS: 0,
    parts: null,
    unitsByWorker: null,
    coresBusy: 0,
    cpu: { client: 0, source: 0, target: 0 },
    copyS: null,
    note: '',
  };
  const busy0 = machineBusySeconds();
  const cpu0 = {
    client: childrenCpuSeconds(),
    source: serverCpuSeconds(source.dataDir),
    target: serverCpuSeconds(target.dataDir),
  };
  try {
    const apply = start(
      ['apply', '-c', file, '--auto-approve', '--log-level', LOGS ? 'debug' : 'info', '--log-format', 'json'],
      e,
    );
    const workers: Array<Promise<Done>> = [];
    for (let i = 0; i < m.workers; i++) {
      // a worker joins the running apply: started once the apply holds the target's lock
      workers.push(
        (async () => {
          for (let tries = 0; ; tries++) {
            await sleep(300);
            const w = await start(['worker', '-c', file, '--log-level', 'warn'], e).done;
            if (w.code === 0 || tries > 40 || apply.child.exitCode !== null) return w;
          }
        })(),
      );
    }
    const [a, ...ws] = await Promise.all([apply.done, ...workers]);
    out.wallS = (a as Done).ms / 1000;
    if (LOGS) {
      fs.mkdirSync(LOGS, { recursive: true });
      fs.writeFileSync(path.join(LOGS, `${db}.log`), a?.stderr ?? '');
    }
    out.coresBusy = (machineBusySeconds() - busy0) / out.wallS;
    out.cpu = {
      client: childrenCpuSeconds() - cpu0.client,
      source: serverCpuSeconds(source.dataDir) - cpu0.source,
      target: serverCpuSeconds(target.dataDir) - cpu0.target,
    };
    // the copy phase: from the apply's start to the last unit copied (its own log lines, JSON)
    const events = (a?.stderr ?? '')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { time?: string; msg?: string });
    const t = (e: { time?: string }): number => (e.time ? Date.parse(e.time) : NaN);
    const begun = events.find((x) => x.msg === 'apply started');
    const copied = events.filter((x) => x.msg === 'copied').map(t);
    if (begun && copied.length) out.copyS = (Math.max(...copied) - t(begun)) / 1000;
    out.ok = a?.code === 0 && ws.every((w) => w.code === 0);
    if (!out.ok)
      out.note = `apply exit ${a?.code}: ${(a?.stderr ?? '').trim().split('\n').slice(-2).join(' / ')}${ws
        .filter((w) => w.code !== 0)
        .map((w) => `; worker exit ${w.code}: ${w.stderr.trim().split('\n').slice(-1).join('')}`)
        .join('')}`;
    const units = await withPg(
      target.url(db),
      async (c) =>
        (await c.query<{ unit: string }>(`SELECT unit FROM pgshift.migration_checkpoints WHERE unit LIKE 'copy %'`))
          .rows,
    ).catch(() => []);
    out.parts = units.length;
    // the units a worker finished (the queue keeps who held each unit last)
    out.unitsByWorker = await withPg(target.url(db), async (c) =>
      Number(
        (
          await c.query<{ n: string }>(
            `SELECT count(*) FILTER (WHERE owner LIKE 'worker %' AND status = 'done')::text AS n FROM pgshift.work_units`,
          )
        ).rows[0]?.n ?? 0,
      ),
    ).catch(() => null);
    const rows = await scalar<string>(target.url(db), 'SELECT count(*)::text AS v FROM public.big').catch(() => '0');
    if (Number(rows) !== ROWS) {
      out.ok = false;
      out.note += `; target holds ${rows} rows, not ${ROWS}`;
    }
  } finally {
    await withPg(target.url(), (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`));
    await withPg(target.url(), (c) => c.query('CHECKPOINT'));
  }
  log(
    `  ${m.name} run ${runNo}: ${out.ok ? 'ok' : 'FAILED'} ${out.wallS.toFixed(1)} s${out.note ? ` (${out.note})` : ''}`,
  );
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(REPO, 'dist'))) {
    log('dist/ is missing: building it (npm run build)');
    const b = await new Promise<number | null>((resolve) =>
      spawn('npm', ['run', 'build'], { cwd: REPO, stdio: 'inherit' }).on('close', resolve),
    );
    if (b !== 0) throw new Error('npm run build failed');
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgshift-bench-split-'));
  process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  const settings = { shared_buffers: '512MB', max_wal_size: '4GB', fsync: FSYNC, full_page_writes: FSYNC };
  const [source, target] = await Promise.all([
    startEmbedded({ major: 15, settings }),
    startEmbedded({ major: 17, settings }),
  ]);
  try {
    await withPg(source.url(), (c) => c.query('CREATE DATABASE split_src'));
    const t0 = performance.now();
    // observations of gen.sql with a uuid key: the key has no integer order to cut by
    await withPg(source.url('split_src'), async (c) => {
      await c.query(`CREATE TABLE public.big (
          id uuid PRIMARY KEY, encounter_id bigint NOT NULL, code text NOT NULL, value double precision,
          recorded_at timestamptz NOT NULL)`);
      await c.query(
        `INSERT INTO public.big
         SELECT md5(i::text)::uuid, 1 + (i - 1) / 3, 'LOINC-' || (i % 20), (i % 1000) / 7.0,
                timestamptz '2015-01-01 00:00:00+00' + i * interval '1 minute'
           FROM generate_series(1, $1::bigint) i`,
        [ROWS],
      );
      await c.query('VACUUM (FREEZE, ANALYZE) public.big');
    });
    const size = await scalar<string>(
      source.url('split_src'),
      `SELECT pg_size_pretty(pg_total_relation_size('public.big')) AS v`,
    );
    log(
      `source: public.big, ${ROWS.toLocaleString('en-US')} rows, ${size}, made in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    const methods = METHODS.map(method);
    const all: Measure[] = [];
    for (let r = 1; r <= RUNS; r++)
      for (const m of methods) {
        log(`${m.label} (run ${r})...`);
        all.push(await measure(source, target, m, r, tmp));
      }
    const versions = await Promise.all([
      scalar<string>(source.url(), 'SELECT version() AS v'),
      scalar<string>(target.url(), 'SELECT version() AS v'),
    ]);
    const cores = os.cpus().length;
    const lines: string[] = [
      `### Split copy units and workers (bench/split.ts)`,
      '',
      `One table \`public.big\`: ${ROWS.toLocaleString('en-US')} rows with a uuid primary key, ${size} on the source. ${cores} cores, source ${versions[0]?.split(' on ')[0]}, target ${versions[1]?.split(' on ')[0]} (embedded, fsync ${FSYNC ? 'on' : 'off'}), both on this machine with the client. Whole \`pgshift apply\` (schema, copy, primary key, verification with its copy digest); split methods use \`copy.split_tables_larger_than: ${THRESHOLD}\`. ${RUNS} run(s) each, interleaved; median (min–max).`,
      '',
      '| method | ok runs | wall s | × unsplit | copies done at s | cores busy | CPU-s client / source / target | copy units | units done by the worker |',
      '|---|---|---|---|---|---|---|---|---|',
    ];
    const base = median(all.filter((x) => x.method === 'unsplit' && x.ok).map((x) => x.wallS));
    for (const m of methods) {
      const xs = all.filter((x) => x.method === m.name);
      const ok = xs.filter((x) => x.ok);
      const walls = ok.map((x) => x.wallS);
      const med = walls.length ? median(walls) : NaN;
      lines.push(
        `| ${m.label} | ${ok.length}/${xs.length} | ${walls.length ? `**${med.toFixed(1)}** (${Math.min(...walls).toFixed(1)}–${Math.max(...walls).toFixed(1)})` : '–'} | ${Number.isFinite(base) && walls.length ? (med / base).toFixed(2) : '–'} | ${ok.some((x) => x.copyS !== null) ? median(ok.flatMap((x) => (x.copyS === null ? [] : [x.copyS]))).toFixed(1) : '–'} | ${ok.length ? median(ok.map((x) => x.coresBusy)).toFixed(2) : '–'} | ${ok.length ? (['client', 'source', 'target'] as const).map((k) => median(ok.map((x) => x.cpu[k])).toFixed(1)).join(' / ') : '–'} | ${xs[0]?.parts ?? '–'} | ${m.workers ? xs.map((x) => x.unitsByWorker ?? '–').join(', ') : '–'} |`,
      );
    }
    const failed = all.filter((x) => !x.ok);
    if (failed.length) lines.push('', ...failed.map((x) => `- ${x.method} run ${x.run} failed: ${x.note}`));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await Promise.all([source.stop(), target.stop()]);
  }
}

await main();
