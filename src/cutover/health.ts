import pg from 'pg';
import { clientConfig, DEFAULT_SESSION } from '../db/connect.js';
import { connectError } from '../db/connect-error.js';
import {
  defaultSslMode,
  isLoopbackHost,
  resolveEndpoint,
  strongerSslMode,
  type ResolvedEndpoint,
} from '../db/endpoint.js';
import { qualified } from '../db/ident.js';
import { detectPooling, type Pooling } from '../db/pooler.js';
import type { SslMode } from '../config/types.js';
import { isPgshiftError } from '../errors/index.js';
import { scrub } from '../log/redact.js';

export interface AppUrlHealth {
  /** The URL answered SELECT 1 and every listed table could be read. */
  readonly ok: boolean;
  /** From the start of the connection to the answer of SELECT 1. */
  readonly latencyMs: number;
  /** What the URL leads to: `transaction` behind a transaction (or statement) pooler, as Supabase's port 6543. */
  readonly pooling: Pooling;
  /** What went wrong, for a person; never a password or a row value. */
  readonly problems: string[];
}

export interface AppUrlOptions {
  /** Tables the application reads: each gets a bounded read (one row). */
  readonly tables: ReadonlyArray<{ readonly schema: string; readonly name: string }>;
  /** Connect timeout and timeout of each query (default 10 s). */
  readonly timeoutMs?: number;
  /** CA of the server certificate (the target's ssl.ca_file). */
  readonly caFile?: string;
  /** The target's explicit ssl.mode: the only way to check the URL with less than verify-full off loopback. */
  readonly sslMode?: SslMode;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** A failure as one line without secrets: the driver's text scrubbed, the SQLSTATE or errno when there is one. */
function describe(err: unknown): string {
  if (isPgshiftError(err))
    return scrub(err.hint ? `${err.message} (${err.code}). ${err.hint}` : `${err.message} (${err.code})`);
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? ` (${e.code})` : '';
  return scrub(`${String(e.message ?? err)}${code}`);
}

/**
 * TLS for the application URL, decided like the target's: verify-full off loopback (with target.ssl.ca_file), none
 * on loopback; a weaker mode only when target.ssl.mode says so (never no TLS off loopback). The URL is the
 * application's own value: its sslmode may make the check stricter, never weaker (?sslmode=require is still verified).
 */
function resolveAppEndpoint(url: string, caFile: string | undefined, explicit: SslMode | undefined): ResolvedEndpoint {
  let checked = url;
  let urlMode: SslMode | undefined;
  let loopback = false;
  try {
    const u = new URL(url);
    const m = u.searchParams.get('sslmode');
    if (m === 'disable' || m === 'require' || m === 'verify-ca' || m === 'verify-full') urlMode = m;
    loopback = isLoopbackHost(u.hostname || u.searchParams.get('host') || '');
    u.searchParams.delete('sslmode');
    u.searchParams.delete('sslrootcert'); // a path on the application's machine, not this one
    checked = u.toString();
  } catch {
    // resolveEndpoint reports the invalid URL
  }
  const base = explicit === undefined || (explicit === 'disable' && !loopback) ? defaultSslMode(loopback) : explicit;
  const sslMode = urlMode === undefined ? base : strongerSslMode(base, urlMode);
  const verifies = sslMode === 'verify-ca' || sslMode === 'verify-full';
  // provider postgres: the application may use a transaction pooler (Supabase's 6543), which the migration may not
  return resolveEndpoint({
    side: 'target',
    url: checked,
    provider: 'postgres',
    sslMode,
    caFile: verifies ? caFile : undefined,
    extensionSchema: undefined,
  });
}

/**
 * Checks the URL the application will use after cutover, the way such an application connects: plain sessions,
 * the simple query protocol only (no prepared statements, no SET, nothing that needs a session to last beyond one
 * transaction), so a transaction pooler URL passes. Runs SELECT 1, then reads at most one row of each listed table
 * (the values are discarded). Never throws for a connection or query problem: it returns it in `problems`.
 */
export async function checkApplicationUrl(url: string, opts: AppUrlOptions): Promise<AppUrlHealth> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const problems: string[] = [];
  let ep: ResolvedEndpoint;
  try {
    ep = resolveAppEndpoint(url, opts.caFile, opts.sslMode);
  } catch (err) {
    return { ok: false, latencyMs: 0, pooling: 'session', problems: [describe(err)] };
  }
  let config: pg.ClientConfig;
  try {
    config = {
      ...clientConfig(ep, { ...DEFAULT_SESSION, connectTimeoutMs: timeoutMs, applicationName: 'pgshift-health' }),
      query_timeout: timeoutMs,
    };
  } catch (err) {
    return { ok: false, latencyMs: 0, pooling: 'session', problems: [describe(err)] };
  }
  const open = async (): Promise<pg.Client> => {
    const c = new pg.Client(config);
    c.on('error', () => undefined); // a dropped idle connection is reported by the next query
    try {
      await c.connect();
    } catch (err) {
      await c.end().catch(() => undefined);
      throw connectError(err, ep, 1);
    }
    return c;
  };

  const started = performance.now();
  let client: pg.Client;
  try {
    client = await open();
  } catch (err) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      pooling: 'session',
      problems: [describe(err)],
    };
  }
  let latencyMs = 0;
  try {
    await client.query('SELECT 1');
    latencyMs = Math.round(performance.now() - started);
    for (const t of opts.tables) {
      try {
        await client.query(`SELECT * FROM ${qualified(t.schema, t.name)} LIMIT 1`);
      } catch (err) {
        problems.push(`cannot read table ${t.schema}.${t.name}: ${describe(err)}`);
      }
    }
  } catch (err) {
    problems.push(`SELECT 1 failed: ${describe(err)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  let pooling: Pooling = 'session';
  try {
    pooling = (await detectPooling(open)).pooling;
  } catch (err) {
    problems.push(`a second connection failed: ${describe(err)}`);
  }
  return { ok: problems.length === 0, latencyMs, pooling, problems };
}
