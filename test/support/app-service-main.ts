/**
 * Child-process entry of the test application service (see app-service.ts):
 *   node --import tsx test/support/app-service-main.ts
 * Settings from the environment: APP_ENV_FILE (required), APP_URL_VARIABLE (DATABASE_URL), APP_TABLE (patients), APP_PORT (0),
 * APP_WRITE_RETRY_MS, APP_READ_RETRY_MS, APP_POOL_MAX, APP_STATEMENT_TIMEOUT_MS.
 * Prints `APP_SERVICE_READY {"port":…,"pid":…}` on stdout once it listens; logs on stderr.
 * SIGHUP reloads the env file; SIGTERM/SIGINT stop it gracefully; it also stops when its stdin closes
 * (the parent went away).
 */
import { AppService, READY_MARK } from './app-service.js';

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} app[${process.pid}] ${line}\n`);
};

const num = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);

const envFile = process.env.APP_ENV_FILE;
if (!envFile) {
  log('APP_ENV_FILE is not set');
  process.exit(2);
}

const service = new AppService({
  envFile,
  urlVariable: process.env.APP_URL_VARIABLE || 'DATABASE_URL',
  table: process.env.APP_TABLE || 'patients',
  port: num('APP_PORT') ?? 0,
  writeRetryMs: num('APP_WRITE_RETRY_MS'),
  readRetryMs: num('APP_READ_RETRY_MS'),
  poolMax: num('APP_POOL_MAX'),
  statementTimeoutMs: num('APP_STATEMENT_TIMEOUT_MS'),
  log,
});

let stopping = false;
async function stop(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`stopping (${reason})`);
  await service.stop();
  process.exit(0);
}

process.on('SIGHUP', () => {
  log('SIGHUP: reloading');
  service.reload().catch(() => undefined); // the failure is logged and counted (failedReloads)
});
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
process.stdin.on('end', () => void stop('stdin closed'));
process.stdin.on('error', () => void stop('stdin error'));
process.stdin.resume();

try {
  const port = await service.start();
  process.stdout.write(`${READY_MARK}${JSON.stringify({ port, pid: process.pid })}\n`);
} catch (err) {
  log(`could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
