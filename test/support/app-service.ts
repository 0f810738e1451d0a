/**
 * A stand-in for the clinic backend, for the zero-downtime tests of cutover and rollback (issue 6).
 *
 * node:http + pg, no framework. It reads its database URL from a dotenv-style env file at start and on every
 * reload (POST /reload, or SIGHUP when it runs as a child process), and behaves the way a well-behaved
 * application should while its database moves:
 *
 * - GET  /patients/:id   one row, 200 or 404. `?sleep_ms=N` holds the read N ms in the database (pg_sleep) so
 *                        a test can keep a request in flight across a reload.
 * - POST /patients       body {"id","name"[,"sleep_ms"]}: BEGIN; INSERT … ON CONFLICT (id) DO NOTHING; COMMIT
 *                        (`sleep_ms`: a pg_sleep between the INSERT and the COMMIT, a long write transaction).
 *                        201 only after COMMIT returned. The client-supplied id makes a retry idempotent (a COMMIT
 *                        whose answer was lost is not written twice).
 * - GET  /health         SELECT 1 through the current pool: 200 or 503.
 * - GET  /stats          generation, pools, retry counters (JSON).
 * - POST /reload         re-read the env file, open a NEW pool on the new URL, check it (SELECT 1), swap, then
 *                        drain the old pool in the background (requests holding one of its clients finish on it;
 *                        pg's Pool.end() closes each client as it is released). 200 {"generation",…} once the new
 *                        pool serves; 502 and the old pool kept when the new URL does not work or the file is bad.
 *
 * Writes that the database refuses for a transient reason are retried with a short capped backoff, up to
 * `writeRetryMs` (30 s by default), every attempt through the CURRENT pool (so a write retrying during a write
 * freeze goes to the new database as soon as the switch happens): read_only_sql_transaction (25006, a frozen
 * source), admin_shutdown and friends (57P01/57P02/57P03, terminated backends), query_canceled (57014,
 * statement_timeout), lock_not_available (55P03, lock_timeout), serialization/deadlock, too_many_connections and
 * every connection-level failure. A session that answered 25006 is DISCARDED, not returned to the pool: a session
 * keeps the default_transaction_read_only it read at its start, so after an unfreeze (ALTER DATABASE … RESET)
 * only new sessions can write. Reads retry the connection-level failures only (a read-only session still reads),
 * up to `readRetryMs`.
 *
 * Queries are plain text with parameters (pg's unnamed statements; no named prepared statement), so the service
 * works through a transaction pooler (Supabase's port 6543) too.
 *
 * Two ways to run it: `new AppService(options).start()` in this process, or `startAppServiceProcess(options)`,
 * which spawns test/support/app-service-main.ts as a child process (node --import tsx) and returns its port and
 * pid, so a shell hook (`kill -HUP <pid>` or `curl -fsS -X POST http://127.0.0.1:<port>/reload`) can reload it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import pg from 'pg';

/* ------------------------------------------------------------------------------------------------ */
/* env files                                                                                         */

/**
 * Parse dotenv-style text: `KEY=value` lines, optional `export ` prefix, `#` comments, blank lines; values
 * optionally single-quoted (taken literally) or double-quoted (\n, \r, \t, \", \\ escapes); an unquoted value
 * ends at ` #`. Later keys win.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    let value = m[2]!;
    if (value.startsWith('"')) {
      const end = findClosingQuote(value);
      value = value
        .slice(1, end < 0 ? undefined : end)
        .replace(/\\([nrt"\\])/g, (_s, c: string) => ({ n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' })[c] ?? c);
    } else if (value.startsWith("'")) {
      const end = value.indexOf("'", 1);
      value = value.slice(1, end < 0 ? undefined : end);
    } else {
      const hash = value.search(/\s#/);
      if (hash >= 0) value = value.slice(0, hash);
      value = value.trim();
    }
    out[key] = value;
  }
  return out;
}

function findClosingQuote(value: string): number {
  for (let i = 1; i < value.length; i++) {
    if (value[i] === '\\') i++;
    else if (value[i] === '"') return i;
  }
  return -1;
}

/**
 * Write `vars` as an env file, atomically (a temp file in the same folder, then rename), values double-quoted.
 * Other lines of an existing file are not kept: this is the test's own file.
 */
export function writeEnvFile(file: string, vars: Record<string, string>): void {
  const body = Object.entries(vars)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join('\n');
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  fs.writeFileSync(tmp, `# written by the test\n${body}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** host:port/database of a URL, never its credentials (for logs and /stats). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * The service's table: `CREATE TABLE <table> (id <idType> PRIMARY KEY, name text NOT NULL, created_at timestamptz
 * NOT NULL DEFAULT now())`. `table` is SQL (quote it yourself when it needs quotes).
 */
export function appTableSql(table = 'patients', idType: 'text' | 'uuid' = 'text'): string {
  return `CREATE TABLE ${table} (id ${idType} PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`;
}

/* ------------------------------------------------------------------------------------------------ */
/* the service                                                                                       */

export interface AppServiceOptions {
  /** the env file holding the database URL */
  envFile: string;
  /** the variable to read from it (DATABASE_URL) */
  urlVariable?: string;
  /**
   * the table, as SQL (`patients`, `"Clinic".patients`): columns id (text or uuid, the primary key), name (text)
   * and others with defaults; appTableSql() creates one
   */
  table?: string;
  /** port on 127.0.0.1 (0: any free port) */
  port?: number;
  /** how long a write keeps retrying a transient refusal before it answers 503 (30 000 ms) */
  writeRetryMs?: number;
  /** how long a read keeps retrying a connection failure before it answers 503 (10 000 ms) */
  readRetryMs?: number;
  /** pg.Pool max (10) */
  poolMax?: number;
  /** statement_timeout of the service's sessions (5 000 ms; 0 = none), so a write blocked by a lock is retried */
  statementTimeoutMs?: number;
  /** log lines (stderr of the child process); default: none */
  log?: (line: string) => void;
}

interface PoolEntry {
  generation: number;
  pool: pg.Pool;
  url: string;
  /** requests holding one of its clients right now */
  inFlight: number;
  ending: boolean;
  ended: boolean;
  drainedInMs?: number;
  /** rejects (PoolDraining) when the pool starts draining */
  draining: Promise<never>;
  startDraining: () => void;
}

export interface ReloadResult {
  generation: number;
  database: string;
  /** requests of the previous pool still in flight when the swap happened (they finish on it) */
  previousInFlight: number;
}

export interface AppStats {
  generation: number;
  database: string;
  pools: {
    generation: number;
    database: string;
    inFlight: number;
    total: number;
    idle: number;
    waiting: number;
    ending: boolean;
    ended: boolean;
    drainedInMs?: number;
  }[];
  reloads: number;
  failedReloads: number;
  writesCommitted: number;
  writeRetries: number;
  writeRetryCodes: Record<string, number>;
  writesGivenUp: number;
  readRetries: number;
  readsGivenUp: number;
  discardedReadOnlySessions: number;
  /** requests that waited for a client of a pool when it started draining, and went to the new pool */
  redirectedWaiters: number;
}

class PoolDraining extends Error {
  constructor() {
    super('the pool is draining');
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SQLSTATEs a write waits out. */
const TRANSIENT_WRITE_CODES = new Set([
  '25006',
  '57P01',
  '57P02',
  '57P03',
  '57014',
  '55P03',
  '40001',
  '40P01',
  '53300',
  '53400',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '08P01',
]);
/** SQLSTATEs a read waits out (connection level only). */
const TRANSIENT_READ_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '53400',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '08P01',
]);
const NODE_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  if (
    /Connection terminated|Client has encountered a connection error|connection timeout|timeout exceeded when trying to connect/i.test(
      msg,
    )
  )
    return 'CONNECTION';
  if (/Cannot use a pool after calling end/i.test(msg)) return 'POOL_ENDED';
  if (/Client was closed and is not queryable|not queryable/i.test(msg)) return 'CONNECTION';
  return 'UNKNOWN';
}

function isTransient(code: string, forWrite: boolean): boolean {
  if (code === 'CONNECTION' || code === 'POOL_ENDED' || NODE_CONNECTION_CODES.has(code)) return true;
  return (forWrite ? TRANSIENT_WRITE_CODES : TRANSIENT_READ_CODES).has(code);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class AppService {
  private readonly opts: Required<Omit<AppServiceOptions, 'log'>> & { log: (line: string) => void };
  private current: PoolEntry | undefined;
  private readonly pools: PoolEntry[] = [];
  private server: http.Server | undefined;
  private generation = 0;
  private reloading: Promise<unknown> = Promise.resolve();
  private readonly counters = {
    reloads: 0,
    failedReloads: 0,
    writesCommitted: 0,
    writeRetries: 0,
    writesGivenUp: 0,
    readRetries: 0,
    readsGivenUp: 0,
    discardedReadOnlySessions: 0,
    redirectedWaiters: 0,
  };
  private readonly writeRetryCodes: Record<string, number> = {};

  constructor(options: AppServiceOptions) {
    this.opts = {
      envFile: options.envFile,
      urlVariable: options.urlVariable ?? 'DATABASE_URL',
      table: options.table ?? 'patients',
      port: options.port ?? 0,
      writeRetryMs: options.writeRetryMs ?? 30_000,
      readRetryMs: options.readRetryMs ?? 10_000,
      poolMax: options.poolMax ?? 10,
      statementTimeoutMs: options.statementTimeoutMs ?? 5_000,
      log: options.log ?? (() => undefined),
    };
  }

  /** Read the env file, open the pool (checked with SELECT 1), listen. Returns the port. */
  async start(): Promise<number> {
    const entry = await this.openPool(this.readUrl());
    this.current = entry;
    this.pools.push(entry);
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 30_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    this.opts.log(
      `listening on 127.0.0.1:${port}, database ${describeUrl(entry.url)} (generation ${entry.generation})`,
    );
    return port;
  }

  /**
   * Re-read the env file and swap to a new pool on its URL; the old pool drains in the background. Reloads run one
   * after the other, each reading the file when it starts (a reload asked for during another one sees the file as
   * it is then). Throws (keeping the current pool) when the file or the new URL does not work.
   */
  reload(): Promise<ReloadResult> {
    const next = this.reloading.catch(() => undefined).then(() => this.doReload());
    this.reloading = next;
    return next;
  }

  private async doReload(): Promise<ReloadResult> {
    let entry: PoolEntry;
    try {
      entry = await this.openPool(this.readUrl());
    } catch (err) {
      this.counters.failedReloads++;
      this.opts.log(`reload failed, keeping ${describeUrl(this.current?.url ?? '')}: ${messageOf(err)}`);
      throw err;
    }
    const previous = this.current;
    this.current = entry;
    this.pools.push(entry);
    this.counters.reloads++;
    const previousInFlight = previous?.inFlight ?? 0;
    this.opts.log(
      `reloaded: generation ${entry.generation} on ${describeUrl(entry.url)}; draining generation ${previous?.generation} (${previousInFlight} in flight)`,
    );
    if (previous) void this.drain(previous);
    return { generation: entry.generation, database: describeUrl(entry.url), previousInFlight };
  }

  /** Close the server (in-flight requests finish) and every pool. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => server.closeAllConnections(), 5_000);
        server.close(() => (clearTimeout(t), resolve()));
        server.closeIdleConnections();
      });
    }
    await Promise.all(this.pools.map((p) => this.drain(p)));
  }

  stats(): AppStats {
    return {
      generation: this.current?.generation ?? 0,
      database: describeUrl(this.current?.url ?? ''),
      pools: this.pools.map((p) => ({
        generation: p.generation,
        database: describeUrl(p.url),
        inFlight: p.inFlight,
        total: p.pool.totalCount,
        idle: p.pool.idleCount,
        waiting: p.pool.waitingCount,
        ending: p.ending,
        ended: p.ended,
        ...(p.drainedInMs !== undefined ? { drainedInMs: p.drainedInMs } : {}),
      })),
      ...this.counters,
      writeRetryCodes: { ...this.writeRetryCodes },
    };
  }

  /* ---- pools ---- */

  private readUrl(): string {
    const text = fs.readFileSync(this.opts.envFile, 'utf8');
    const url = parseEnvFile(text)[this.opts.urlVariable];
    if (!url) throw new Error(`${this.opts.urlVariable} is not set in ${this.opts.envFile}`);
    return url;
  }

  private async openPool(url: string): Promise<PoolEntry> {
    const pool = new pg.Pool({
      connectionString: url,
      max: this.opts.poolMax,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 5_000,
      ...(this.opts.statementTimeoutMs > 0 ? { statement_timeout: this.opts.statementTimeoutMs } : {}),
      application_name: 'pgshift-test-app',
    });
    // an idle client whose backend was terminated emits 'error' on the pool, which drops it
    pool.on('error', (err) => this.opts.log(`idle client dropped: ${messageOf(err)}`));
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    let startDraining: () => void = () => undefined;
    const draining = new Promise<never>((_resolve, reject) => {
      startDraining = () => reject(new PoolDraining());
    });
    draining.catch(() => undefined);
    return {
      generation: ++this.generation,
      pool,
      url,
      inFlight: 0,
      ending: false,
      ended: false,
      draining,
      startDraining,
    };
  }

  private async drain(entry: PoolEntry): Promise<void> {
    if (entry.ending) return;
    entry.ending = true;
    entry.startDraining();
    const t0 = performance.now();
    await entry.pool.end().catch(() => undefined);
    entry.ended = true;
    entry.drainedInMs = Math.round(performance.now() - t0);
    this.opts.log(`generation ${entry.generation} drained in ${entry.drainedInMs} ms`);
  }

  /**
   * Run `fn` on a client of the CURRENT pool. The client gets an 'error' listener while it is held (a backend
   * terminated between two queries would otherwise crash the process). A client whose `fn` failed is destroyed,
   * not given back: it may be read-only (a session keeps the default_transaction_read_only it started with),
   * broken, or mid-transaction after a cancel.
   */
  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (;;) {
      const entry = this.current;
      if (!entry) throw new HttpError(503, 'not started');
      entry.inFlight++;
      try {
        const client = await this.acquire(entry);
        if (!client) {
          this.counters.redirectedWaiters++;
          continue; // the pool started draining while this request waited: take the new one
        }
        let broken: unknown;
        const onError = (err: unknown): void => {
          broken = err;
        };
        client.on('error', onError);
        try {
          const result = await fn(client);
          client.removeListener('error', onError);
          client.release(broken instanceof Error ? broken : undefined);
          return result;
        } catch (err) {
          client.removeListener('error', onError);
          if (errorCode(err) === '25006') this.counters.discardedReadOnlySessions++;
          client.release(err instanceof Error ? err : new Error(String(err)));
          throw err;
        }
      } finally {
        entry.inFlight--;
      }
    }
  }

  /**
   * A client of `entry`'s pool, or undefined when the pool starts draining while the request waits for one
   * (pg-pool never serves its waiters once end() is called: they would wait for connectionTimeoutMillis).
   */
  private async acquire(entry: PoolEntry): Promise<pg.PoolClient | undefined> {
    const connecting = entry.pool.connect();
    try {
      return await Promise.race([connecting, entry.draining]);
    } catch (err) {
      if (!(err instanceof PoolDraining)) throw err;
      connecting.then(
        (c) => c.release(true),
        () => undefined,
      );
      return undefined;
    }
  }

  /* ---- requests ---- */

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const route = `${req.method} ${url.pathname}`;
      const patient = /^\/patients\/([^/]+)$/.exec(url.pathname);
      if (req.method === 'GET' && patient) {
        const sleepMs = Math.min(Number(url.searchParams.get('sleep_ms') ?? 0) || 0, 10_000);
        return send(res, ...(await this.readPatient(decodeURIComponent(patient[1]!), sleepMs)));
      }
      if (route === 'POST /patients') {
        const body = JSON.parse((await readBody(req)) || '{}') as { id?: unknown; name?: unknown; sleep_ms?: unknown };
        if (typeof body.id !== 'string' || !body.id || typeof body.name !== 'string')
          throw new HttpError(400, 'body must be {"id": string, "name": string}');
        const sleepMs = Math.min(Number(body.sleep_ms ?? 0) || 0, 10_000);
        return send(res, ...(await this.writePatient(body.id, body.name, sleepMs)));
      }
      if (route === 'GET /health') {
        await this.withClient((c) => c.query('SELECT 1'));
        return send(res, 200, { ok: true, generation: this.current?.generation });
      }
      if (route === 'GET /stats') return send(res, 200, this.stats());
      if (route === 'POST /reload') {
        await readBody(req);
        try {
          return send(res, 200, await this.reload());
        } catch (err) {
          return send(res, 502, {
            error: messageOf(err),
            kept: describeUrl(this.current?.url ?? ''),
            generation: this.current?.generation,
          });
        }
      }
      throw new HttpError(404, `no route ${route}`);
    } catch (err) {
      if (err instanceof HttpError)
        return send(res, err.status, { error: err.message, ...(err.code ? { code: err.code } : {}) });
      if (err instanceof SyntaxError) return send(res, 400, { error: err.message });
      this.opts.log(`request failed: ${messageOf(err)}`);
      return send(res, 500, { error: messageOf(err), code: errorCode(err) });
    }
  }

  private async readPatient(id: string, sleepMs: number): Promise<[number, unknown]> {
    const deadline = performance.now() + this.opts.readRetryMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const rows = await this.withClient(async (c) => {
          if (sleepMs > 0) await c.query('SELECT pg_sleep($1)', [sleepMs / 1000]);
          return (
            await c.query<{ id: string; name: string; created_at: Date }>(
              `SELECT id::text AS id, name, created_at FROM ${this.opts.table} WHERE id = $1`,
              [id],
            )
          ).rows;
        });
        const row = rows[0];
        return row ? [200, row] : [404, { error: 'not found', id }];
      } catch (err) {
        const code = errorCode(err);
        if (!isTransient(code, false)) throw err;
        if (performance.now() >= deadline) {
          this.counters.readsGivenUp++;
          throw new HttpError(503, `read gave up after ${this.opts.readRetryMs} ms: ${messageOf(err)}`, code);
        }
        this.counters.readRetries++;
        await sleep(backoff(attempt));
      }
    }
  }

  private async writePatient(id: string, name: string, sleepMs: number): Promise<[number, unknown]> {
    const deadline = performance.now() + this.opts.writeRetryMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await this.withClient(async (c) => {
          await c.query('BEGIN');
          try {
            const r = await c.query(
              `INSERT INTO ${this.opts.table} (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
              [id, name],
            );
            if (sleepMs > 0) await c.query('SELECT pg_sleep($1)', [sleepMs / 1000]);
            await c.query('COMMIT');
            return r.rowCount === 1;
          } catch (err) {
            await c.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        });
        this.counters.writesCommitted++;
        return [201, { id, created, attempts: attempt + 1, generation: this.current?.generation }];
      } catch (err) {
        const code = errorCode(err);
        if (!isTransient(code, true)) throw err;
        if (performance.now() >= deadline) {
          this.counters.writesGivenUp++;
          throw new HttpError(503, `write gave up after ${this.opts.writeRetryMs} ms: ${messageOf(err)}`, code);
        }
        this.counters.writeRetries++;
        this.writeRetryCodes[code] = (this.writeRetryCodes[code] ?? 0) + 1;
        await sleep(backoff(attempt));
      }
    }
  }
}

/** 20, 40, 80, 160, then 200 ms, ±25 % jitter: a write resumes within ~0.25 s of the database taking writes again. */
function backoff(attempt: number): number {
  const base = Math.min(20 * 2 ** attempt, 200);
  return base * (0.75 + Math.random() * 0.5);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/* ------------------------------------------------------------------------------------------------ */
/* as a child process                                                                                */

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.join(HERE, '..', '..');
export const APP_SERVICE_MAIN = path.join(HERE, 'app-service-main.ts');
/** the line the child prints on stdout once it listens, followed by JSON {port, pid, generation} */
export const READY_MARK = 'APP_SERVICE_READY ';

export interface AppServiceProcess {
  port: number;
  pid: number;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** a shell command that reloads it synchronously and fails (exit ≠ 0) when the reload failed */
  reloadCommand: string;
  /** the same without curl: node's fetch */
  reloadCommandNode: string;
  /** a shell command that reloads it by signal (asynchronous: returns before the reload is done) */
  hupCommand: string;
  /** POST /reload; resolves with the answer, rejects on a non-200 */
  reload(): Promise<ReloadResult>;
  /** kill -HUP, then wait until /stats shows a new generation (or a failed reload) */
  reloadBySignal(timeoutMs?: number): Promise<AppStats>;
  /**
   * Wait until /stats shows a reload (a new generation, or one more failed reload) after `before` (stats taken
   * before a hook sent SIGHUP); resolves with the new stats.
   */
  waitForReload(before: AppStats, timeoutMs?: number): Promise<AppStats>;
  stats(): Promise<AppStats>;
  /** the child's stderr so far (its log) */
  logs(): string;
  /** SIGTERM (graceful: in-flight requests finish), SIGKILL after 10 s; resolves with the exit code */
  stop(): Promise<number | null>;
  child: ChildProcess;
}

export interface AppServiceProcessOptions extends Omit<AppServiceOptions, 'log'> {
  /** how long to wait for the child to listen (20 s) */
  startTimeoutMs?: number;
}

/**
 * Spawn the service as a child process (`node --import tsx test/support/app-service-main.ts`), wait until it
 * listens, return its port and pid. The child also exits when this process goes away (its stdin closes).
 */
export async function startAppServiceProcess(options: AppServiceProcessOptions): Promise<AppServiceProcess> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    APP_ENV_FILE: options.envFile,
    APP_URL_VARIABLE: options.urlVariable ?? 'DATABASE_URL',
    APP_PORT: String(options.port ?? 0),
    ...(options.table !== undefined ? { APP_TABLE: options.table } : {}),
    ...(options.writeRetryMs !== undefined ? { APP_WRITE_RETRY_MS: String(options.writeRetryMs) } : {}),
    ...(options.readRetryMs !== undefined ? { APP_READ_RETRY_MS: String(options.readRetryMs) } : {}),
    ...(options.poolMax !== undefined ? { APP_POOL_MAX: String(options.poolMax) } : {}),
    ...(options.statementTimeoutMs !== undefined
      ? { APP_STATEMENT_TIMEOUT_MS: String(options.statementTimeoutMs) }
      : {}),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', APP_SERVICE_MAIN], {
    cwd: REPO,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-200_000);
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))),
  );

  const ready = await new Promise<{ port: number; pid: number }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () =>
        reject(new Error(`the app service did not start within ${options.startTimeoutMs ?? 20_000} ms:\n${stderr}`)),
      options.startTimeoutMs ?? 20_000,
    );
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith(READY_MARK));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(READY_MARK.length)) as { port: number; pid: number });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the app service exited (${code}) before listening:\n${stderr}`));
    });
  });
  child.stdout!.resume();

  const baseUrl = `http://127.0.0.1:${ready.port}`;
  const stats = async (): Promise<AppStats> => (await (await fetch(`${baseUrl}/stats`)).json()) as AppStats;
  const waitForReload = async (before: AppStats, timeoutMs = 10_000): Promise<AppStats> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await stats();
      if (s.reloads !== before.reloads || s.failedReloads !== before.failedReloads) return s;
      if (Date.now() > deadline) throw new Error(`no reload within ${timeoutMs} ms`);
      await sleep(20);
    }
  };
  return {
    port: ready.port,
    pid: ready.pid,
    baseUrl,
    reloadCommand: `curl -fsS -X POST ${baseUrl}/reload`,
    reloadCommandNode: `${JSON.stringify(process.execPath)} -e "fetch('${baseUrl}/reload',{method:'POST'}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"`,
    hupCommand: `kill -HUP ${ready.pid}`,
    child,
    stats,
    logs: () => stderr,
    async reload() {
      const res = await fetch(`${baseUrl}/reload`, { method: 'POST' });
      const body = (await res.json()) as ReloadResult & { error?: string };
      if (res.status !== 200) throw new Error(`reload answered ${res.status}: ${body.error ?? JSON.stringify(body)}`);
      return body;
    },
    async reloadBySignal(timeoutMs = 10_000) {
      const before = await stats();
      process.kill(ready.pid, 'SIGHUP');
      return waitForReload(before, timeoutMs);
    },
    waitForReload,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
