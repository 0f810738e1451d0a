import type pg from 'pg';
import { PgshiftError } from '../errors/index.js';
import { connectClient, type SessionSettings } from './connect.js';
import type { ResolvedEndpoint } from './endpoint.js';

/**
 * How client connections map to server sessions. `session`: each client keeps one server backend for its whole
 * life (a direct connection, or a pooler in session mode). `transaction`: a client may get another backend for
 * each transaction (pgbouncer or Supavisor in transaction or statement mode): session settings, session advisory
 * locks, prepared statements and temporary tables do not survive from one transaction to the next.
 */
export type Pooling = 'session' | 'transaction';

export interface PoolingProbe {
  readonly pooling: Pooling;
  /** What was seen, without any secret: backend pids only. */
  readonly evidence: string;
}

/** A client the probe can use: the only thing it runs is `SELECT pg_backend_pid()` through the simple query protocol. */
export interface ProbeClient {
  query(text: string): Promise<{ rows: unknown[] }>;
  end(): Promise<void>;
}

/**
 * Which client runs each single-statement transaction. Turns taken (a b) catch a pooler that hands out the most
 * recently released server connection (pgbouncer's default): the second client gets the first one's backend. The
 * same client twice in a row (a a, b b) catches one that hands them out in turn (server_round_robin): its second
 * transaction gets the next connection. No fixed number of server connections makes both look pinned.
 */
const SEQUENCE: readonly (0 | 1)[] = [0, 1, 0, 0, 1, 1, 0, 1];

async function backendPid(c: ProbeClient): Promise<number> {
  // no parameters, no statement name: the simple query protocol, which every pooler mode accepts
  const r = await c.query('SELECT pg_backend_pid() AS pid');
  const pid = (r.rows[0] as { pid?: number } | undefined)?.pid;
  if (typeof pid !== 'number') throw new Error('SELECT pg_backend_pid() returned no row');
  return pid;
}

/**
 * Tells session pinning from transaction pooling without any privilege: two clients each ask for their backend's
 * pid in several single-statement transactions (SEQUENCE). A direct connection (or a session pooler) gives each
 * client one pid for its whole life, and two live clients never share a pid. Behind a transaction pooler the
 * second client is handed the server connection the first one just released (so both report the same pid), or a
 * client's pid changes between its transactions. Either is proof; a direct connection can show neither.
 */
export async function detectPooling(
  open: () => Promise<ProbeClient>,
  sequence: readonly (0 | 1)[] = SEQUENCE,
): Promise<PoolingProbe> {
  const a = await open();
  let b: ProbeClient | undefined;
  try {
    b = await open();
    const clients = [a, b] as const;
    const seen: [number[], number[]] = [[], []];
    for (const i of sequence) seen[i].push(await backendPid(clients[i]));
    const moved = seen.findIndex((pids) => new Set(pids).size > 1);
    if (moved >= 0) {
      return {
        pooling: 'transaction',
        evidence: `one client was served by backends ${[...new Set(seen[moved])].join(', ')} in consecutive transactions`,
      };
    }
    const shared = seen[0].filter((pid) => seen[1].includes(pid));
    if (shared.length > 0) {
      return {
        pooling: 'transaction',
        evidence: `two clients open at the same time were both served by backend ${shared[0]}`,
      };
    }
    return { pooling: 'session', evidence: `each client kept its own backend (${seen[0][0]}, ${seen[1][0]})` };
  } finally {
    await Promise.all([a.end().catch(() => undefined), b?.end().catch(() => undefined)]);
  }
}

/** detectPooling() through pgshift's own connections to an endpoint (TLS, retries and session settings as usual). */
export async function probePooling(ep: ResolvedEndpoint, session: SessionSettings): Promise<PoolingProbe> {
  return detectPooling(() => connectClient(ep, { ...session, applicationName: 'pgshift-probe' }) as Promise<pg.Client>);
}

export function transactionPoolerError(ep: ResolvedEndpoint, probe: PoolingProbe): PgshiftError {
  return new PgshiftError(
    'CONNECT_POOLER_TRANSACTION_MODE',
    `${ep.side} (${ep.display}) is reached through a connection pooler in transaction (or statement) mode: ${probe.evidence}. ` +
      'A migration needs one server session per connection (session settings, advisory locks, long transactions).',
    {
      hint:
        `Point ${ep.side}.url at the database itself, or at a pooler in session mode` +
        (ep.provider === 'supabase'
          ? ' (Supabase: the direct host db.<ref>.supabase.co:5432, or the session pooler on port 5432 of the pooler host)'
          : '') +
        '. A transaction pooler is fine for the application after cutover, not for pgshift.',
    },
  );
}

/** Endpoints this process already found pinned: a command that verifies twice (cutover) probes once. */
const pinned = new Set<string>();

/**
 * Refuses an endpoint behind a transaction pooler, whatever its port: the check for every connection that carries
 * a migration (plan, apply, verify). Both sides are probed at once; an endpoint found pinned is not probed again
 * by the same process (call this before a write freeze, and the verification inside the freeze costs nothing).
 */
export async function assertSessionPooling(eps: readonly ResolvedEndpoint[], session: SessionSettings): Promise<void> {
  const key = (ep: ResolvedEndpoint): string => `${ep.side}\u0000${ep.display}`;
  const probes = await Promise.all(
    eps.filter((ep) => !pinned.has(key(ep))).map(async (ep) => ({ ep, probe: await probePooling(ep, session) })),
  );
  const pooled = probes.find((p) => p.probe.pooling === 'transaction');
  if (pooled) throw transactionPoolerError(pooled.ep, pooled.probe);
  for (const p of probes) pinned.add(key(p.ep));
}
