import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { EndpointConfig, Provider, Side, SslMode } from '../config/types.js';
import { PgshiftError } from '../errors/index.js';
import { redactUrl, registerSecret } from '../log/redact.js';

/** A connection target with every TLS decision made. Holds the password: never log it, log `display` instead. */
export interface ResolvedEndpoint {
  readonly side: Side;
  readonly provider: Provider;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string | undefined;
  readonly sslMode: SslMode;
  readonly caFile: string | undefined;
  readonly loopback: boolean;
  /** user@host:port/database: safe to print. */
  readonly display: string;
  /** The URL with its password masked. */
  readonly redactedUrl: string;
}

const SUPPORTED_SSLMODES = new Set<SslMode>(['disable', 'require', 'verify-ca', 'verify-full']);
const TRANSACTION_POOLER_PORT = 6543;

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('/')) return true; // a unix socket directory
  return false;
}

function invalid(side: Side, message: string, hint?: string): PgshiftError {
  return new PgshiftError('CONFIG_INVALID_URL', `${side}.url: ${message}`, { hint: hint ?? 'Use postgres://USER:PASSWORD@HOST:PORT/DATABASE, with the password in an environment variable: url: ${SOURCE_DATABASE_URL}' });
}

/**
 * Turns `source:`/`target:` settings into a ResolvedEndpoint. Pure apart from registering the password as a secret.
 * The URL's own sslmode/sslrootcert are read into the same settings (never passed to the driver untranslated).
 * Throws PgshiftError for anything a connection must not be attempted with.
 */
export function resolveEndpoint(cfg: EndpointConfig): ResolvedEndpoint {
  const side = cfg.side;
  let u: URL;
  try {
    u = new URL(cfg.url);
  } catch {
    throw invalid(side, 'is not a valid URL');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw invalid(side, `has scheme "${u.protocol.replace(/:$/, '')}"; expected postgres:// or postgresql://`);
  }
  let password: string | undefined;
  let user: string;
  let database: string;
  try {
    password = u.password ? decodeURIComponent(u.password) : undefined;
    user = decodeURIComponent(u.username);
    database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  } catch {
    throw invalid(side, 'has a malformed percent-encoding');
  }
  registerSecret(password);
  registerSecret(u.password);
  const params = u.searchParams;
  if (params.get('password')) {
    registerSecret(params.get('password'));
    password = params.get('password') ?? undefined;
  }
  user = user || params.get('user') || '';
  if (!user) throw invalid(side, 'names no user');
  database = database || params.get('dbname') || user;
  const host = (u.hostname || params.get('host') || '').replace(/^\[|\]$/g, '');
  if (!host) throw invalid(side, 'names no host');
  const port = u.port ? Number(u.port) : params.get('port') ? Number(params.get('port')) : 5432;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(side, `has an invalid port`);

  const urlMode = params.get('sslmode');
  if (urlMode !== null && !SUPPORTED_SSLMODES.has(urlMode as SslMode)) {
    throw invalid(
      side,
      `has sslmode=${urlMode}, which pgshift does not use (it may silently fall back to an unencrypted connection)`,
      'Use sslmode=require, verify-ca or verify-full (or disable for a local server), or set ssl.mode in migration.yaml.',
    );
  }
  if (urlMode !== null && cfg.sslMode !== undefined && urlMode !== cfg.sslMode) {
    throw new PgshiftError('CONFIG_INVALID', `${side}: the URL says sslmode=${urlMode} but ssl.mode is ${cfg.sslMode}`, {
      hint: 'Keep one of the two: remove sslmode from the URL or ssl.mode from migration.yaml.',
    });
  }
  const loopback = isLoopbackHost(host);
  const sslMode: SslMode =
    cfg.sslMode ?? (urlMode as SslMode | null) ?? (cfg.provider === 'supabase' && !loopback ? 'verify-full' : loopback ? 'disable' : 'require');
  const caFile = cfg.caFile ?? params.get('sslrootcert') ?? undefined;
  if (caFile !== undefined && (sslMode === 'disable' || sslMode === 'require')) {
    throw new PgshiftError('CONFIG_INVALID', `${side}: a CA file is given but ssl.mode is ${sslMode}, which does not check certificates`, {
      hint: 'Use ssl.mode: verify-full (or verify-ca) so that the CA file is used.',
    });
  }

  if (cfg.provider === 'supabase' && side === 'target') {
    if (port === TRANSACTION_POOLER_PORT) {
      throw new PgshiftError(
        'CONNECT_POOLER_TRANSACTION_MODE',
        `target.url points at port ${TRANSACTION_POOLER_PORT}, Supabase's transaction pooler, which cannot run a migration (no session settings, advisory locks or long transactions)`,
        { hint: 'Use the direct connection (db.<ref>.supabase.co:5432) or the session pooler (port 5432 on the pooler host). The transaction pooler is for the application, after cutover.' },
      );
    }
    if (sslMode === 'disable' && !loopback) {
      throw new PgshiftError('CONNECT_TLS_REQUIRED', `target: TLS is disabled for a Supabase target at ${host}`, {
        hint: 'Patient data must not cross the network in clear text: set target.ssl.mode: verify-full and ca_file to the project CA (prod-ca-2021.crt).',
      });
    }
  }

  const display = `${user}@${host.includes(':') ? `[${host}]` : host}:${port}/${database}`;
  return { side, provider: cfg.provider, host, port, database, user, password, sslMode, caFile, loopback, display, redactedUrl: redactUrl(cfg.url) };
}

/** The `ssl` option for node-postgres, exactly as the mode says. */
export function tlsOptions(ep: ResolvedEndpoint): false | ConnectionOptions {
  let ca: string | undefined;
  if (ep.caFile !== undefined) {
    try {
      ca = readFileSync(ep.caFile, 'utf8');
    } catch (err) {
      throw new PgshiftError('TLS_CA_FILE_UNREADABLE', `${ep.side}: cannot read the CA file ${ep.caFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
        hint: `Check ${ep.side}.ssl.ca_file; relative paths are relative to the folder of migration.yaml.`,
      });
    }
  }
  switch (ep.sslMode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      // chain checked against the CA, host name not checked
      return { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true, ...(ca ? { ca } : {}), ...(isIP(ep.host) ? {} : { servername: ep.host }) };
    default: {
      const never: never = ep.sslMode;
      throw new Error(`unknown ssl mode ${String(never)}`);
    }
  }
}
