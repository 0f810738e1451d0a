import pRetry from 'p-retry';

/** SQLSTATEs worth another attempt: the server is starting, stopping, full, or the transaction lost a race. */
const TRANSIENT_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovery)
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout): the application held a lock; try again
  '08000', // connection_exception
  '08003', // connection_does_not_exist
  '08006', // connection_failure
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
]);

const TRANSIENT_SYSCALL_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

const TRANSIENT_MESSAGES = [
  /Connection terminated unexpectedly/i,
  /Connection terminated due to connection timeout/i,
  /timeout expired/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /terminating connection due to administrator command/i,
  /Client has encountered a connection error and is not queryable/i,
];

/** True for failures that may pass on their own: retry them. Wrong password, unknown database or role: false. */
export function isTransient(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof e.code === 'string') {
    if (TRANSIENT_SQLSTATES.has(e.code) || TRANSIENT_SYSCALL_CODES.has(e.code)) return true;
    if (/^[0-9A-Z]{5}$/.test(e.code)) return false; // any other SQLSTATE is an answer from a working server
  }
  // AggregateError from happy-eyeballs connects (localhost resolving to ::1 and 127.0.0.1)
  if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors.every((x) => isTransient(x));
  const message = typeof e.message === 'string' ? e.message : '';
  return TRANSIENT_MESSAGES.some((re) => re.test(message));
}

/**
 * True when the connection was refused (ECONNREFUSED, for every address tried): nothing listens on that port. On a
 * loopback host that is not transient (no network between, no server starting elsewhere): connect fails at once.
 */
export function isRefused(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; errors?: unknown };
  if (e.code === 'ECONNREFUSED') return true;
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((x) => isRefused(x));
}

export interface RetryPolicy {
  /** Total attempts, the first included. */
  readonly attempts: number;
  /** Longest pause between attempts. */
  readonly maxWaitMs: number;
  /** First pause (default 250 ms); each next pause doubles, with jitter. */
  readonly minWaitMs?: number;
}

export interface RetryEvent {
  readonly attempt: number;
  readonly attemptsLeft: number;
  readonly error: unknown;
}

/** Runs fn, retrying transient failures with exponential backoff and full jitter, within the policy's bound. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  onRetry?: (event: RetryEvent) => void,
): Promise<T> {
  return pRetry(fn, {
    retries: Math.max(0, policy.attempts - 1),
    factor: 2,
    minTimeout: Math.min(policy.minWaitMs ?? 250, policy.maxWaitMs),
    maxTimeout: policy.maxWaitMs,
    randomize: true,
    shouldRetry: ({ error }) => isTransient(error),
    onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft > 0 && isTransient(error))
        onRetry?.({ attempt: attemptNumber, attemptsLeft: retriesLeft, error });
    },
  });
}
