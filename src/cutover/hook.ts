import { spawn } from 'node:child_process';
import path from 'node:path';
import { PgshiftError } from '../errors/index.js';
import { scrub } from '../log/redact.js';

export interface HookResult {
  readonly ms: number;
  /** The last lines the command printed (scrubbed of secrets). */
  readonly output: string;
}

/**
 * Runs `cutover.switch.command` (through /bin/sh, in the config file's folder) after the env file changed, e.g. a
 * reload of the application. Its output is scrubbed; a non-zero exit or a timeout is SWITCH_COMMAND_FAILED.
 */
export async function runSwitchCommand(
  command: string,
  o: { cwd: string | undefined; direction: 'cutover' | 'rollback'; timeoutMs?: number },
): Promise<HookResult> {
  const started = performance.now();
  const timeoutMs = o.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    // its own process group: a timeout kills the command and whatever it started; the result is its exit, not the
    // end of its output (a reload that leaves a daemon holding the pipes must not hang the cutover)
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: o.cwd ? path.resolve(o.cwd) : process.cwd(),
      env: { ...process.env, PGSHIFT_SWITCH_DIRECTION: o.direction },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    const keep = (b: Buffer): void => {
      out = (out + b.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(
        new PgshiftError('SWITCH_COMMAND_FAILED', `the switch command could not start: ${scrub(err.message)}`, {
          hint: 'Check cutover.switch.command.',
        }),
      );
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      const output = scrub(out.trim().split('\n').slice(-10).join('\n'));
      if (code === 0) resolve({ ms: Math.round(performance.now() - started), output });
      else {
        reject(
          new PgshiftError(
            'SWITCH_COMMAND_FAILED',
            `the switch command ${signal ? `was stopped (${signal}, timeout ${timeoutMs} ms)` : `exited with status ${code}`}${output ? `: ${output}` : ''}`,
            {
              hint: `The env file already holds the new value. Fix the command and run \`pgshift ${o.direction}\` again (it resumes at the command), or reload the application by hand.`,
            },
          ),
        );
      }
    });
  });
}
