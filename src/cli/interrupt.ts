/**
 * Runs a cutover-like command with SIGINT/SIGTERM turned into an abort signal: the command stops at its next safe
 * point (a cutover lifts its freeze before the switch). A second signal leaves at once (the state says where).
 */
export async function withInterrupt<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) process.exit(130);
    process.stderr.write(`\nReceived ${sig}: stopping the ${what} at its next safe point (again to leave at once; \`pgshift ${what}\` resumes).\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
