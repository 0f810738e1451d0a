import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** How a child process of a benchmark ended: its exit code, its output, and how long it ran. */
export interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Starts `cmd args` in `cwd` with the environment plus `env`, collecting its output. */
export function start(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): { child: ChildProcess; done: Promise<Done> } {
  const t0 = performance.now();
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Done>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 })),
  );
  return { child, done };
}

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

/** CPU-seconds the whole machine has been busy since boot (/proc/stat: all but idle and iowait). */
export function machineBusySeconds(): number {
  const f = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - (f[3] ?? 0) - (f[4] ?? 0)) / CLK_TCK;
}

/** utime + stime of a process and of its exited (waited-for) children, and its parent (jiffies); null when gone. */
function procStat(pid: number | 'self'): { ppid: number; self: number; children: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after "(comm)": state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17): index = field - 3
    return { ppid: Number(f[1]), self: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

/** CPU seconds used so far by the server of `dataDir`: postmaster + its exited children + its live children. */
export function serverCpuSeconds(dataDir: string): number {
  let pm: number;
  try {
    pm = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return 0;
  }
  const top = procStat(pm);
  if (!top) return 0;
  let jiffies = top.self + top.children;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const p = procStat(Number(d));
    if (p && p.ppid === pm) jiffies += p.self;
  }
  return jiffies / CLK_TCK;
}

/** CPU seconds of this process's exited (waited-for) children: psql, pg_dump, pg_restore, node children. */
export function childrenCpuSeconds(): number {
  const s = procStat('self');
  return s ? s.children / CLK_TCK : 0;
}
