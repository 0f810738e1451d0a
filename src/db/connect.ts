import pg from 'pg';
import { logger } from '../log/logger.js';
import { type ResolvedEndpoint, tlsOptions } from './endpoint.js';
import { connectError } from './connect-error.js';
import { connectFailure, ipv6OnlyExplanation } from './network-failure.js';
import { quoteLiteral } from './ident.js';
import { isRefused, type RetryPolicy, withRetry } from './retry.js';

export interface SessionSettings {
  readonly connectTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly retry: RetryPolicy;
  /** Default `pgshift`. */
  readonly applicationName?: string;
}

export const DEFAULT_SESSION: SessionSettings = {
  connectTimeoutMs: 10_000,
  lockTimeoutMs: 10_000,
  retry: { attempts: 8, maxWaitMs: 10_000 },
};

/** node-postgres settings for an endpoint; sslmode never reaches the driver through a URL. */
export function clientConfig(ep: ResolvedEndpoint, s: SessionSettings): pg.ClientConfig {
  return {
    host: ep.host,
    port: ep.port,
    database: ep.database,
    user: ep.user,
    password: ep.password,
    ssl: tlsOptions(ep),
    application_name: s.applicationName ?? 'pgshift',
    connectionTimeoutMillis: s.connectTimeoutMs,
    keepAlive: true,
  };
}

/**
 * Session settings every pgshift session runs with. Sent as SET after connecting (not as startup options, which
 * poolers may refuse): no statement timeout (Supabase's global 2 minute default would kill long COPYs), a bounded
 * lock timeout so DDL never queues behind the application for long.
 */
export function sessionSetupSql(s: SessionSettings): string {
  return [
    `SET statement_timeout = 0`,
    `SET lock_timeout = ${quoteLiteral(`${s.lockTimeoutMs}ms`)}`,
    `SET idle_in_transaction_session_timeout = 0`,
  ].join('; ');
}

/**
 * Servers (host:port) this process has reached. A refused connection to one of them is a restart (retried); a
 * refused connection to a loopback server never reached means nothing listens there (a wrong port, a server not
 * started): waiting does not help, so it fails at once.
 */
const reached = new Set<string>();
const serverKey = (ep: ResolvedEndpoint): string => `${ep.host}:${ep.port}`;

/**
 * Opens one client, with retries for transient failures; a wrong password or database fails at once, and so does a
 * refused connection to a loopback port not reached before (a remote host's refusal is retried: it may be starting).
 */
export async function connectClient(ep: ResolvedEndpoint, s: SessionSettings = DEFAULT_SESSION): Promise<pg.Client> {
  const config = clientConfig(ep, s);
  let attempts = 0;
  try {
    return await withRetry(
      async (attempt) => {
        attempts = attempt;
        const client = new pg.Client(config);
        // errors of an idle client (server restart) must not crash the process; the next query reports them
        client.on('error', (err) => logger().warn({ side: ep.side, err: err.message }, 'connection error'));
        try {
          await client.connect();
          await client.query(sessionSetupSql(s));
          reached.add(serverKey(ep));
          return client;
        } catch (err) {
          await client.end().catch(() => undefined);
          // Supabase's IPv6-only direct host from an IPv4-only network: waiting will not help, explain it now
          if (ipv6OnlyExplanation(ep.host, connectFailure(err).errno)) throw connectError(err, ep, attempt);
          if (ep.loopback && isRefused(err) && !reached.has(serverKey(ep))) throw connectError(err, ep, attempt);
          throw err;
        }
      },
      s.retry,
      ({ attempt, attemptsLeft, error }) =>
        logger().warn(
          { side: ep.side, server: ep.display, attempt, attemptsLeft, reason: (error as Error).message },
          `connect to ${ep.side} failed, retrying`,
        ),
    );
  } catch (err) {
    throw connectError(err, ep, attempts);
  }
}

/** Runs fn with a fresh client and always closes it. */
export async function withClient<T>(
  ep: ResolvedEndpoint,
  s: SessionSettings,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const client = await connectClient(ep, s);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** BEGIN … COMMIT around fn; ROLLBACK when it throws. `begin` may name the isolation level. */
export async function withTransaction<T>(
  client: pg.ClientBase,
  fn: () => Promise<T>,
  begin:
    'BEGIN' | 'BEGIN ISOLATION LEVEL REPEATABLE READ' | 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' = 'BEGIN',
): Promise<T> {
  await client.query(begin);
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
