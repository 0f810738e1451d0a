/** The signals that stop a run at its next safe point: Ctrl-C, a supervisor's stop, a closed terminal or SSH session. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * A closed terminal (SIGHUP) takes stdout and stderr with it: a write to them then fails (EPIPE, EIO) and, unhandled,
 * would kill the process before it lifts its freeze. From a hangup on, such errors are ignored.
 */
function survivePipeErrors(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  }
}

function say(text: string): void {
  try {
    process.stderr.write(text);
  } catch {
    // no terminal any more
  }
}

/**
 * Calls `onStop` at the first SIGINT, SIGTERM or SIGHUP, so that the command stops at its next safe point. A second
 * SIGINT or SIGTERM leaves at once (exit 130; the state says where). A repeated SIGHUP never does: a hangup comes
 * from the terminal and again from the shell, with nobody there to insist. Returns the function that removes the
 * handlers.
 */
export function onStopSignals(onStop: (sig: NodeJS.Signals) => void, leavingNote = ''): () => void {
  let stopped = false;
  const handler = (sig: NodeJS.Signals): void => {
    if (sig === 'SIGHUP') survivePipeErrors();
    if (stopped) {
      if (sig === 'SIGHUP') return;
      say(`\nReceived ${sig} again: leaving at once.${leavingNote ? ` ${leavingNote}` : ''}\n`);
      process.exit(130);
    }
    stopped = true;
    onStop(sig);
  };
  for (const sig of STOP_SIGNALS) process.on(sig, handler);
  return () => {
    for (const sig of STOP_SIGNALS) process.off(sig, handler);
  };
}

/**
 * Runs a cutover-like command with SIGINT/SIGTERM/SIGHUP turned into an abort signal: the command stops at its next
 * safe point (a cutover lifts its freeze before the switch; exit 130). A second SIGINT or SIGTERM leaves at once:
 * a write freeze placed before the switch then still ends by itself at cutover.max_write_freeze.
 */
export async function withInterrupt<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const off = onStopSignals((sig) => {
    say(
      `\nReceived ${sig}: stopping the ${what} at its next safe point (again to leave at once; \`pgshift ${what}\` resumes).\n`,
    );
    controller.abort();
  }, `A write freeze placed before the switch ends by itself at cutover.max_write_freeze; \`pgshift ${what}\` resumes, \`pgshift rollback\` lifts it.`);
  try {
    return await fn(controller.signal);
  } finally {
    off();
  }
}
