/**
 * A real PostgreSQL server run from the embedded binaries in node_modules (pg15-bin / pg17-bin).
 *
 *   const pg = new EmbeddedPostgres({ major: 17 });
 *   await pg.init();            // initdb, chooses a free port (pg.port is known from here on)
 *   await pg.start();           // pg_ctl start -w
 *   pg.url('mydb')              // postgresql://postgres:pgshift-test-pw@127.0.0.1:PORT/mydb
 *   await pg.dispose();         // stop + remove the data directory
 *
 * Every server created in a process is stopped (immediate) and its directory removed when the
 * process exits; servers orphaned by a killed process are swept by {@link sweepOrphanedServers}.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { embeddedBinaries, serverRunAs } from './binaries.js';
import type { EmbeddedMajor, PgBinaries, RunAs } from './binaries.js';

export type { EmbeddedMajor } from './binaries.js';
export { embeddedBinariesAvailable } from './binaries.js';

const execFileAsync = promisify(execFile);

export const DEFAULT_PASSWORD = 'pgshift-test-pw';
const DIR_PREFIX = 'pgshift-srv-';

export interface EmbeddedSsl {
  certPem: string;
  keyPem: string;
}

export interface EmbeddedOptions {
  major: EmbeddedMajor;
  /** superuser password (default "pgshift-test-pw") */
  password?: string;
  /** TCP port on 127.0.0.1 (default: a free one, chosen by init()) */
  port?: number;
  /** enable TLS with this certificate (non-TLS connections stay allowed) */
  ssl?: EmbeddedSsl;
  /** name of the bootstrap superuser (default "postgres") */
  superuser?: string;
  /** extra postgresql.conf settings, applied after the harness defaults */
  settings?: Record<string, string | number | boolean>;
}

/** Bind port 0 on 127.0.0.1 and return the port the kernel picked. */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not obtain a free port'))));
    });
  });
}

function quoteConf(value: string | number | boolean): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface ExecError extends Error {
  stdout?: string;
  stderr?: string;
  code?: number | string;
}

/* ------------------------------------------------------------------------------------------------
 * Process-wide registry and clean-up
 * ---------------------------------------------------------------------------------------------- */

const live = new Set<EmbeddedPostgres>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', stopAllEmbeddedSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      stopAllEmbeddedSync();
      process.removeListener(sig, handler);
      // keep the default behaviour (terminate) unless someone else handles the signal
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

/** Stop (immediate) every server this process created and remove their directories. Synchronous. */
export function stopAllEmbeddedSync(): void {
  for (const pg of [...live]) pg.disposeSync();
}

/** Stop (fast) every server this process created and remove their directories. */
export async function stopAllEmbedded(): Promise<void> {
  await Promise.all([...live].map((pg) => pg.dispose()));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stop servers and remove directories left in os.tmpdir() by harness processes that died
 * without cleaning up (e.g. a test worker killed with SIGKILL). Only touches pgshift-srv-*
 * directories whose owner process is gone, and only a postmaster whose command line names
 * that directory.
 */
export function sweepOrphanedServers(): number {
  let swept = 0;
  let entries: string[];
  try {
    entries = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(DIR_PREFIX));
  } catch {
    return 0;
  }
  for (const name of entries) {
    const dir = path.join(os.tmpdir(), name);
    let owner: number;
    try {
      owner = Number(fs.readFileSync(path.join(dir, 'owner.pid'), 'utf8').trim());
    } catch {
      continue; // not ours, or being created right now
    }
    if (!Number.isInteger(owner) || owner <= 0 || processAlive(owner)) continue;
    const dataDir = path.join(dir, 'data');
    try {
      const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (pid > 0 && cmdline.includes(dataDir)) {
        process.kill(pid, 'SIGQUIT'); // immediate shutdown
        const deadline = Date.now() + 5000;
        while (processAlive(pid) && Date.now() < deadline) sleepSync(50);
      }
    } catch {
      // no postmaster running
    }
    fs.rmSync(dir, { recursive: true, force: true });
    swept++;
  }
  return swept;
}

/* ------------------------------------------------------------------------------------------------
 * The server
 * ---------------------------------------------------------------------------------------------- */

export class EmbeddedPostgres {
  readonly major: EmbeddedMajor;
  readonly password: string;
  readonly superuser: string;
  private readonly options: EmbeddedOptions;
  private bins: PgBinaries | undefined;
  private runAs: RunAs | null = null;
  private base: string | undefined;
  private chosenPort: number | undefined;
  private portExposed = false;
  private initialized = false;
  private isRunning = false;

  constructor(options: EmbeddedOptions) {
    this.options = options;
    this.major = options.major;
    this.password = options.password ?? DEFAULT_PASSWORD;
    this.superuser = options.superuser ?? 'postgres';
    this.chosenPort = options.port;
  }

  /** TCP port (chosen by init() unless given). */
  get port(): number {
    if (this.chosenPort === undefined) throw new Error('EmbeddedPostgres: port is not known before init()');
    this.portExposed = true;
    return this.chosenPort;
  }

  /** Per-server directory under os.tmpdir(); also the unix socket directory. */
  get baseDir(): string {
    if (!this.base) throw new Error('EmbeddedPostgres: not initialized');
    return this.base;
  }

  get dataDir(): string {
    return path.join(this.baseDir, 'data');
  }

  /** Server log (pg_ctl -l). */
  get logFile(): string {
    return path.join(this.dataDir, 'server.log');
  }

  /** Directory of the unix socket (.s.PGSQL.<port>). */
  get socketDir(): string {
    return this.baseDir;
  }

  get running(): boolean {
    return this.isRunning;
  }

  /** The binaries in use (after init()). */
  get binaries(): PgBinaries {
    if (!this.bins) throw new Error('EmbeddedPostgres: not initialized');
    return this.bins;
  }

  /** postgresql://USER:PASSWORD@127.0.0.1:PORT/DATABASE (password defaults to the superuser's). */
  /** Leave this server running when the process exits (pgshift demo --keep); stop it with stopCommand(). */
  detach(): void {
    live.delete(this);
  }

  /**
   * The shell command that stops this server (for a detached one). pg_ctl refuses to run as root ("cannot be run as
   * root"): a server run as another user (serverRunAs) is stopped as that user, with runuser (util-linux), else su.
   */
  stopCommand(): string {
    const stop = [this.binaries.pgCtl, '-D', this.dataDir, 'stop', '-m', 'fast'].map(shellQuote).join(' ');
    if (!this.runAs) return stop;
    const user = shellQuote(this.runAs.name);
    // the user may have no login shell (nologin): runuser needs none, su is given one
    return onPath('runuser') ? `runuser -u ${user} -- ${stop}` : `su -s /bin/sh ${user} -c ${shellQuote(stop)}`;
  }

  url(database = 'postgres', user: string = this.superuser, password?: string): string {
    const pw = password ?? (user === this.superuser ? this.password : undefined);
    const auth = pw === undefined ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(pw)}`;
    return `postgresql://${auth}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  /** The last lines of the server log. */
  logTail(lines = 30): string {
    return this.base ? tail(this.logFile, lines) : '(not initialized)';
  }

  private spawnOptions(): { cwd: string; env: NodeJS.ProcessEnv; uid?: number; gid?: number } {
    return {
      cwd: this.baseDir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C', TZ: 'UTC', HOME: this.baseDir },
      ...(this.runAs ? { uid: this.runAs.uid, gid: this.runAs.gid } : {}),
    };
  }

  private async run(file: string, args: string[], what: string): Promise<string> {
    try {
      const { stdout } = await execFileAsync(file, args, {
        ...this.spawnOptions(),
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
      });
      return stdout;
    } catch (err) {
      const e = err as ExecError;
      const out = [e.stderr, e.stdout]
        .filter((s) => s && s.trim())
        .join('\n')
        .trim();
      throw new Error(`${what} failed for PostgreSQL ${this.major} (${this.base ?? '?'}): ${out || e.message}`, {
        cause: err,
      });
    }
  }

  /** Give a file we (maybe root) wrote to the server user. */
  private own(p: string, mode: number): void {
    if (this.runAs) fs.chownSync(p, this.runAs.uid, this.runAs.gid);
    fs.chmodSync(p, mode);
  }

  private writeConf(): void {
    const settings: Record<string, string | number | boolean> = {
      listen_addresses: '127.0.0.1',
      port: this.chosenPort ?? 5432,
      unix_socket_directories: this.baseDir,
      fsync: false,
      full_page_writes: false,
      max_connections: 100,
      shared_buffers: '128MB',
      wal_level: 'logical',
      // room for several test files replicating through the same server at once
      max_wal_senders: 40,
      max_replication_slots: 40,
      max_worker_processes: 32,
      max_logical_replication_workers: 16,
      ...(this.options.ssl ? { ssl: true, ssl_cert_file: 'server.crt', ssl_key_file: 'server.key' } : {}),
      ...this.options.settings,
    };
    const text =
      '# written by test/support/embedded.ts\n' +
      Object.entries(settings)
        .map(([k, v]) => `${k} = ${quoteConf(v)}`)
        .join('\n') +
      '\n';
    const file = path.join(this.dataDir, 'pgshift.conf');
    fs.writeFileSync(file, text);
    this.own(file, 0o600);
  }

  /** initdb into a fresh directory under os.tmpdir(); chooses the port. Idempotent. */
  async init(): Promise<void> {
    if (this.initialized) return;
    this.bins = embeddedBinaries(this.major);
    this.runAs = serverRunAs();
    if (this.chosenPort === undefined) this.chosenPort = await freePort();
    installExitHooks();
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), DIR_PREFIX));
    live.add(this);
    fs.writeFileSync(path.join(this.base, 'owner.pid'), `${process.pid}\n`);
    this.own(this.base, 0o700);

    const pwfile = path.join(this.base, 'pwfile');
    fs.writeFileSync(pwfile, `${this.password}\n`, { mode: 0o600 });
    this.own(pwfile, 0o600);
    try {
      await this.run(
        this.bins.initdb,
        [
          '-D',
          this.dataDir,
          '-U',
          this.superuser,
          '-E',
          'UTF8',
          '--locale=C',
          '--no-sync',
          '--no-instructions',
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          `--pwfile=${pwfile}`,
        ],
        'initdb',
      );
    } finally {
      fs.rmSync(pwfile, { force: true });
    }

    if (this.options.ssl) {
      const crt = path.join(this.dataDir, 'server.crt');
      const key = path.join(this.dataDir, 'server.key');
      fs.writeFileSync(crt, this.options.ssl.certPem);
      this.own(crt, 0o644);
      fs.writeFileSync(key, this.options.ssl.keyPem, { mode: 0o600 });
      this.own(key, 0o600);
    }
    // initdb's pg_hba.conf already has `host all all 127.0.0.1/32 scram-sha-256`, which matches
    // TLS and non-TLS connections alike, plus the replication lines.
    this.writeConf();
    fs.appendFileSync(path.join(this.dataDir, 'postgresql.conf'), "\ninclude 'pgshift.conf'\n");
    this.initialized = true;
  }

  /** pg_ctl start -w (runs init() first if needed). */
  async start(): Promise<void> {
    await this.init();
    if (this.isRunning) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.run(
          this.binaries.pgCtl,
          ['start', '-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', '-s'],
          'pg_ctl start',
        );
        this.isRunning = true;
        return;
      } catch (err) {
        const log = this.logTail(15);
        // the free port was taken in between: pick another one, unless somebody already saw it
        if (
          /could not bind|Address already in use/i.test(log) &&
          !this.portExposed &&
          this.options.port === undefined &&
          attempt < 3
        ) {
          this.chosenPort = await freePort();
          this.writeConf();
          continue;
        }
        throw new Error(`${(err as Error).message}\n--- ${this.logFile} ---\n${log}`, { cause: err });
      }
    }
  }

  private async pgCtlStop(mode: 'fast' | 'immediate'): Promise<void> {
    if (!this.isRunning) return;
    await this.run(
      this.binaries.pgCtl,
      ['stop', '-D', this.dataDir, '-m', mode, '-w', '-t', '60', '-s'],
      `pg_ctl stop -m ${mode}`,
    );
    this.isRunning = false;
  }

  /** pg_ctl stop -m fast. The data directory is kept; start() again to restart. */
  async stop(): Promise<void> {
    await this.pgCtlStop('fast');
  }

  /** pg_ctl stop -m immediate (a crash, as far as the server is concerned). */
  async kill(): Promise<void> {
    await this.pgCtlStop('immediate');
  }

  /** Stop (fast) if running and remove the directory. */
  async dispose(): Promise<void> {
    try {
      if (this.isRunning) {
        try {
          await this.stop();
        } catch {
          await this.kill();
        }
      }
    } finally {
      this.removeDir();
    }
  }

  /** Synchronous variant of dispose() with an immediate stop, for exit handlers. */
  disposeSync(): void {
    if (this.isRunning && this.bins && this.base) {
      spawnSync(this.bins.pgCtl, ['stop', '-D', this.dataDir, '-m', 'immediate', '-w', '-t', '30', '-s'], {
        ...this.spawnOptions(),
        stdio: 'ignore',
      });
      this.isRunning = false;
    }
    this.removeDir();
  }

  private removeDir(): void {
    if (this.base) fs.rmSync(this.base, { recursive: true, force: true });
    this.base = undefined;
    this.initialized = false;
    live.delete(this);
  }
}

/** Create, init and start an embedded server. */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const pg = new EmbeddedPostgres(options);
  try {
    await pg.start();
  } catch (err) {
    pg.disposeSync();
    throw err;
  }
  return pg;
}

/** A word for a POSIX shell: as it is when it is plain, else in single quotes. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_/.:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** True when an executable of that name is on PATH (or in the sbin folders a root shell has). */
function onPath(name: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin'].filter(Boolean);
  return dirs.some((d) => {
    try {
      fs.accessSync(path.join(d, name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
