import { spawn, type ChildProcess } from 'node:child_process';

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
