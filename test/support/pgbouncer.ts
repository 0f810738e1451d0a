/**
 * A real pgbouncer (the Debian package's binary) in front of a harness server, standing in for Supavisor's
 * transaction pooler (Supabase port 6543).
 *
 *   const bouncer = await startPgbouncer({ upstreamUrl: dbs.targetUrl, poolMode: 'transaction' });
 *   bouncer.url()        // postgresql://postgres:PW@127.0.0.1:PORT/<the upstream URL's database>
 *   await bouncer.stop();
 *
 * Clients log in with SCRAM (auth_type scram-sha-256, a userlist holding the upstream user's password), and
 * pgbouncer logs in to the server with the same password. As root it runs as the harness's unprivileged server
 * user (pgbouncer refuses to run as root), like the embedded PostgreSQL servers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { serverRunAs } from '../../src/embedded/binaries.js';
import { freePort } from './embedded.js';

export type PoolMode = 'session' | 'transaction' | 'statement';

const CANDIDATES = [
  '/usr/sbin/pgbouncer',
  '/usr/bin/pgbouncer',
  '/usr/local/sbin/pgbouncer',
  '/usr/local/bin/pgbouncer',
];

/** The pgbouncer binary (PATH first, then the usual sbin folders), or null when it is not installed. */
export function pgbouncerBinary(): string | null {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const file of [...dirs.map((d) => path.join(d, 'pgbouncer')), ...CANDIDATES]) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return null;
}

/** Why tests that need pgbouncer are skipped, or null when they can run. */
export function pgbouncerMissingReason(): string | null {
  if (pgbouncerBinary()) return null;
  return 'pgbouncer is not installed (Debian: apt-get install pgbouncer; .ci/run installs it when it runs as root)';
}

export interface PgbouncerOptions {
  /** URL of a harness database (user with a password): pgbouncer forwards every database of that server. */
  readonly upstreamUrl: string;
  readonly poolMode: PoolMode;
  /** Server connections per database/user pair (default 4). */
  readonly poolSize?: number;
  /** More [pgbouncer] settings, e.g. { server_round_robin: 1 }. */
  readonly settings?: Readonly<Record<string, string | number>>;
}

export interface Pgbouncer {
  readonly port: number;
  readonly poolMode: PoolMode;
  /** The upstream URL with pgbouncer's host and port (same user, password and database unless given). */
  url(database?: string): string;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHook = false;

function quoteUserlist(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => (sock.destroy(), resolve(true)));
    sock.once('error', () => resolve(false));
  });
}

/** Starts pgbouncer in the foreground (a child of this process) and waits until it listens. */
export async function startPgbouncer(opts: PgbouncerOptions): Promise<Pgbouncer> {
  const bin = pgbouncerBinary();
  if (!bin) throw new Error(pgbouncerMissingReason() ?? 'pgbouncer is missing');
  const upstream = new URL(opts.upstreamUrl);
  const user = decodeURIComponent(upstream.username);
  const password = decodeURIComponent(upstream.password);
  if (!user || !password) throw new Error('startPgbouncer: the upstream URL needs a user and a password');
  const port = await freePort();
  const runAs = serverRunAs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgshift-pgbouncer-'));
  const file = (name: string): string => path.join(dir, name);
  const ini = [
    '[databases]',
    `* = host=${upstream.hostname.replace(/^\[|\]$/g, '')} port=${upstream.port || 5432}`,
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = scram-sha-256',
    `auth_file = ${file('userlist.txt')}`,
    `pool_mode = ${opts.poolMode}`,
    `default_pool_size = ${opts.poolSize ?? 4}`,
    'max_client_conn = 200',
    'ignore_startup_parameters = extra_float_digits,options',
    'server_tls_sslmode = disable',
    `logfile = ${file('pgbouncer.log')}`,
    `pidfile = ${file('pgbouncer.pid')}`,
    ...Object.entries(opts.settings ?? {}).map(([k, v]) => `${k} = ${v}`),
    '',
  ].join('\n');
  fs.writeFileSync(file('pgbouncer.ini'), ini, { mode: 0o600 });
  fs.writeFileSync(file('userlist.txt'), `${quoteUserlist(user)} ${quoteUserlist(password)}\n`, { mode: 0o600 });
  if (runAs) for (const p of [dir, file('pgbouncer.ini'), file('userlist.txt')]) fs.chownSync(p, runAs.uid, runAs.gid);

  const child = spawn(bin, [file('pgbouncer.ini')], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' },
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
    running.delete(child);
  });
  running.add(child);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  const logTail = (lines = 30): string => {
    let log = '';
    try {
      log = fs.readFileSync(file('pgbouncer.log'), 'utf8');
    } catch {
      // not written yet
    }
    return `${log}${stderr}`.trimEnd().split('\n').slice(-lines).join('\n');
  };
  const stop = async (): Promise<void> => {
    if (exited === undefined) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT'); // safe shutdown: close every connection now
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (exited !== undefined || Date.now() > deadline) {
      await stop();
      throw new Error(`pgbouncer did not start on port ${port} (exit ${String(exited)}):\n${logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    poolMode: opts.poolMode,
    url(database?: string): string {
      const u = new URL(opts.upstreamUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      if (database !== undefined) u.pathname = `/${encodeURIComponent(database)}`;
      return u.toString();
    },
    logTail,
    stop,
  };
}
