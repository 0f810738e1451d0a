/**
 * Child process of bench/copy.ts, so that each measured client has its own process (own peak RSS, own CPU).
 *
 *   node --import tsx bench/copy-child.ts '<json>'
 *
 * Modes (the JSON argument):
 *   { "mode": "pgshift", "source": URL, "target": URL, "batchSize": N, "parallel": N }
 *       `apply` in-process (schema + data + indexes/constraints), with the executor's events timed.
 *   { "mode": "verify", "source": URL, "target": URL, "parallel": N }
 *       `pgshift verify --full` in-process (after a copy), timed.
 *   { "mode": "floor", "source": URL, "target": URL, "tables": ["public.t", ...], "parallel": N }
 *       plain node-postgres + pg-copy-streams: `COPY t TO STDOUT (FORMAT binary)` piped into `COPY t FROM STDIN`,
 *       `parallel` tables at a time, largest first (the schema is loaded before and after by the parent).
 *
 * Prints one line `BENCH_RESULT <json>` on stdout (and nothing else there).
 */
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type * as ApplyModule from '../src/apply/apply.js';
import type * as LoadModule from '../src/config/load.js';
import type * as VerifyModule from '../src/verify/run.js';

interface PgshiftArgs {
  mode: 'pgshift' | 'verify';
  source: string;
  target: string;
  /** copy.batch_size; absent: the config's default */
  batchSize?: number;
  parallel: number;
  /** verify.checksums of the config (default: pgshift's default) */
  checksums?: 'none' | 'sampled' | 'full';
}
interface FloorArgs {
  mode: 'floor';
  source: string;
  target: string;
  tables: string[];
  parallel: number;
}
type Args = PgshiftArgs | FloorArgs;

export interface Span {
  id: string;
  kind: string;
  phase: string;
  start: number;
  end: number;
  rows?: number;
  bytes?: number;
}

export interface ChildResult {
  mode: Args['mode'];
  ok: boolean;
  error?: string;
  /** ms inside the child, from just before the work to its end (imports and process start excluded) */
  ms: number;
  /** peak RSS of this process (getrusage ru_maxrss), KiB */
  maxRssKb: number;
  /** RSS after the imports, before any work, KiB: the part of the peak that is just node + tsx + modules */
  rssIdleKb: number;
  cpuUserMs: number;
  cpuSysMs: number;
  spans: Span[];
  status?: string;
  failed?: Array<{ id: string; code: string; message: string }>;
}

function quoteTable(qualifiedName: string): string {
  return qualifiedName
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');
}

type Pgshift = [typeof ApplyModule, typeof LoadModule, typeof VerifyModule];

async function runPgshift(
  a: PgshiftArgs,
  mods: Pgshift,
  t0: number,
  spans: Span[],
): Promise<Pick<ChildResult, 'status' | 'failed' | 'ok' | 'error'>> {
  const [{ apply }, { parseConfig }, { runVerification }] = mods;
  const yaml = `version: 1\nname: bench\nsource:\n  url: ${a.source}\ntarget:\n  url: ${a.target}\ncopy: { ${a.batchSize ? `batch_size: ${a.batchSize}, ` : ''}parallel: ${a.parallel} }\n${a.checksums ? `verify: { checksums: ${a.checksums} }\n` : ''}`;
  const parsed = parseConfig(yaml, 'bench.yaml', {});
  if (!parsed.config) return { ok: false, error: `config: ${JSON.stringify(parsed.problems)}` };
  if (a.mode === 'verify') {
    const report = await runVerification(parsed.config, { full: true });
    return { ok: report.ok, status: report.ok ? 'passed' : 'failed', ...(report.ok ? {} : { error: 'verify failed' }) };
  }
  const open = new Map<string, Span>();
  const r = await apply({
    config: parsed.config,
    confirm: async () => true,
    onEvent: (e) => {
      const now = performance.now() - t0;
      if (e.type === 'action-start') {
        const s: Span = { id: e.action.id, kind: e.action.kind, phase: e.action.phase, start: now, end: -1 };
        open.set(e.action.id, s);
        spans.push(s);
      } else if (e.type === 'action-done' || e.type === 'action-failed') {
        const s = open.get(e.action.id);
        if (s) s.end = now;
      } else if (e.type === 'action-progress') {
        const s = open.get(e.action.id);
        if (s) {
          s.rows = e.rows;
          s.bytes = e.bytes;
        }
      }
    },
  });
  const failed = r.execution?.failed.map((f) => ({ ...f })) ?? [];
  return {
    ok: r.status === 'succeeded',
    status: r.status,
    failed,
    ...(r.status === 'succeeded' ? {} : { error: `apply ${r.status}: ${failed[0]?.message ?? ''}` }),
  };
}

async function copyOne(source: string, target: string, table: string): Promise<{ rows: number; bytes: number }> {
  const s = new pg.Client({ connectionString: source });
  const t = new pg.Client({ connectionString: target });
  s.on('error', () => undefined);
  t.on('error', () => undefined);
  await Promise.all([s.connect(), t.connect()]);
  try {
    const q = quoteTable(table);
    let bytes = 0;
    const out = s.query(copyTo(`COPY ${q} TO STDOUT (FORMAT binary)`));
    out.on('data', (c: Buffer) => (bytes += c.length));
    const into = t.query(copyFrom(`COPY ${q} FROM STDIN (FORMAT binary)`));
    await pipeline(out, into);
    return { rows: Number((into as unknown as { rowCount?: number }).rowCount ?? 0), bytes };
  } finally {
    await Promise.all([s.end().catch(() => undefined), t.end().catch(() => undefined)]);
  }
}

async function runFloor(a: FloorArgs, t0: number, spans: Span[]): Promise<Pick<ChildResult, 'ok' | 'error'>> {
  const queue = [...a.tables];
  const worker = async (): Promise<void> => {
    for (let table = queue.shift(); table !== undefined; table = queue.shift()) {
      const span: Span = {
        id: `copy ${table}`,
        kind: 'copy_table',
        phase: 'data',
        start: performance.now() - t0,
        end: -1,
      };
      spans.push(span);
      const moved = await copyOne(a.source, a.target, table);
      span.end = performance.now() - t0;
      span.rows = moved.rows;
      span.bytes = moved.bytes;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, a.parallel) }, () => worker()));
  return { ok: true };
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg) throw new Error('usage: copy-child.ts <json>');
  const a = JSON.parse(arg) as Args;
  // pgshift's modules are loaded before the idle RSS is taken (the floor does not load them at all)
  const mods: Pgshift | null =
    a.mode === 'pgshift' || a.mode === 'verify'
      ? await Promise.all([
          import('../src/apply/apply.js'),
          import('../src/config/load.js'),
          import('../src/verify/run.js'),
        ])
      : null;
  const rssIdleKb = Math.round(process.memoryUsage().rss / 1024);
  const spans: Span[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let out: Pick<ChildResult, 'ok' | 'error' | 'status' | 'failed'>;
  try {
    out =
      (a.mode === 'pgshift' || a.mode === 'verify') && mods
        ? await runPgshift(a, mods, t0, spans)
        : await runFloor(a as FloorArgs, t0, spans);
  } catch (err) {
    out = { ok: false, error: (err as Error).stack ?? String(err) };
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const result: ChildResult = {
    mode: a.mode,
    ...out,
    ms,
    maxRssKb: process.resourceUsage().maxRSS,
    rssIdleKb,
    cpuUserMs: cpu.user / 1000,
    cpuSysMs: cpu.system / 1000,
    spans,
  };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

await main();
