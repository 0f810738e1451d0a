/** `pgshift apply --follow` and friends as background CLI processes, for the change-stream tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, REPO } from '../e2e/cli.js';

/** Starts the CLI with `args` in the background; `out()` is its stdout and stderr so far. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', ...env },
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out };
}

/** The child's exit code once it has exited. */
export const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));

/** Polls `ok` every 100 ms; throws naming `what` after `ms`. */
export async function until(what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
