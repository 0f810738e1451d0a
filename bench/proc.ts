import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

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
