import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { EndpointConfig, Provider, Side, SslMode } from './endpoint-config.js';
import { PgshiftError } from '../errors/index.js';
import { decodeLenient, redactUrl, registerSecret, registerUrlSecrets } from '../log/redact.js';

/** Where the TLS mode of an endpoint came from. */
export type SslModeSource = 'config' | 'url' | 'default';

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
  /** config: written as ssl.mode; url: the URL's sslmode (never weaker than the default); default: chosen by pgshift. */
  readonly sslModeFrom: SslModeSource;
  readonly caFile: string | undefined;
  readonly loopback: boolean;
  /** user@host:port/database: safe to print. */
  readonly display: string;
  /** The URL with its password masked. */
  readonly redactedUrl: string;
}

const SUPPORTED_SSLMODES = new Set<SslMode>(['disable', 'require', 'verify-ca', 'verify-full']);
const TRANSACTION_POOLER_PORT = 6543;

/** How much each mode checks: a URL's sslmode is used only when it checks at least as much as the default. */
const STRENGTH: Readonly<Record<SslMode, number>> = { disable: 0, require: 1, 'verify-ca': 2, 'verify-full': 3 };

/** The mode that checks more of the two. */
export function strongerSslMode(a: SslMode, b: SslMode): SslMode {
  return STRENGTH[b] > STRENGTH[a] ? b : a;
}

/** 127.0.0.0/8, ::1 (and IPv4-mapped 127/8), localhost and *.localhost, a unix socket directory. Nothing else. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    // compressed form: 0:0:0:0:0:0:0:1 -> ::1, ::ffff:127.0.0.1 -> ::ffff:7f00:1
    const c = new URL(`http://[${h}]/`).hostname.replace(/^\[|\]$/g, '');
    return c === '::1' || /^::ffff:7f[0-9a-f]{2}:/.test(c);
  }
  if (h.startsWith('/')) return true; // a unix socket directory
  return false;
}

/**
 * The TLS mode when neither ssl.mode nor the URL names one: verify-full for every host that is not on this machine
 * (source and target alike, whatever the provider), none for a loopback host, where no network is crossed.
 */
export function defaultSslMode(loopback: boolean): SslMode {
  return loopback ? 'disable' : 'verify-full';
}

/** What a mode weaker than verify-full gives up, for messages. */
function weakness(mode: SslMode): string {
  if (mode === 'disable') return 'no TLS';
  if (mode === 'require') return 'a server certificate that is not checked';
  return 'a certificate for another host name';
}

/**
 * The TLS mode of one side. An explicit `ssl.mode` is used as written (preflight warns about a weaker one).
 * The URL's sslmode is used only when it is at least as strong as the default: a URL copied from somewhere with
 * `?sslmode=require` must not silently turn verification off, so it is refused, with the block to write instead.
 */
export function chooseSslMode(
  side: Side,
  loopback: boolean,
  explicit: SslMode | undefined,
  urlMode: SslMode | undefined,
): { mode: SslMode; from: SslModeSource } {
  if (urlMode !== undefined && explicit !== undefined && urlMode !== explicit) {
    throw new PgshiftError('CONFIG_INVALID', `${side}: the URL says sslmode=${urlMode} but ssl.mode is ${explicit}`, {
      hint: 'Keep one of the two: remove sslmode from the URL or ssl.mode from migration.yaml.',
    });
  }
  if (explicit !== undefined) return { mode: explicit, from: 'config' };
  const fallback = defaultSslMode(loopback);
  if (urlMode === undefined) return { mode: fallback, from: 'default' };
  if (STRENGTH[urlMode] >= STRENGTH[fallback]) return { mode: urlMode, from: 'url' };
  throw new PgshiftError(
    'CONFIG_INVALID',
    `${side}.url says sslmode=${urlMode}, weaker than ${fallback}, the TLS mode for a server that is not on this machine: a URL parameter cannot weaken TLS`,
    {
      hint:
        `Remove sslmode from the URL and write \`${side}.ssl: { mode: verify-full, ca_file: ./ca.crt }\` in migration.yaml (ca.crt: the CA that signed the server's certificate), ` +
        `or, to accept ${weakness(urlMode)} on purpose, write \`${side}.ssl: { mode: ${urlMode} }\` there.`,
    },
  );
}

function invalid(side: Side, message: string, hint?: string): PgshiftError {
  return new PgshiftError('CONFIG_INVALID_URL', `${side}.url: ${message}`, {
    hint:
      hint ??
      'Use postgres://USER:PASSWORD@HOST:PORT/DATABASE, with the password in an environment variable: url: ${SOURCE_DATABASE_URL}',
  });
}

/** The URL's sslmode, validated; undefined when it has none. */
function urlSslMode(side: Side, params: URLSearchParams): SslMode | undefined {
  const urlMode = params.get('sslmode');
  if (urlMode === null) return undefined;
  if (!SUPPORTED_SSLMODES.has(urlMode as SslMode)) {
    throw invalid(
      side,
      `has sslmode=${urlMode}, which pgshift does not use (it may silently fall back to an unencrypted connection)`,
      `Remove sslmode from the URL (pgshift then verifies the server: verify-full, or no TLS for a server on this machine), or write ${side}.ssl.mode in migration.yaml.`,
    );
  }
  return urlMode as SslMode;
}

/**
 * Turns `source:`/`target:` settings into a ResolvedEndpoint. Pure apart from registering the password as a secret.
 * The URL's own sslmode/sslrootcert are read into the same settings (never passed to the driver untranslated).
 * Throws PgshiftError for anything a connection must not be attempted with.
 */
export function resolveEndpoint(cfg: EndpointConfig): ResolvedEndpoint {
  const side = cfg.side;
  registerUrlSecrets(cfg.url); // first: even an error about this URL cannot carry its password
  let u: URL;
  try {
    u = new URL(cfg.url);
  } catch {
    throw invalid(
      side,
      'is not a valid URL',
      'Use postgres://USER:PASSWORD@HOST:PORT/DATABASE; a / ? or # in the password must be percent-encoded (%2F %3F %23).',
    );
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw invalid(side, `has scheme "${u.protocol.replace(/:$/, '')}"; expected postgres:// or postgresql://`);
  }
  // WHATWG URL ends the user info at the LAST @ before the host, so a raw @ or : in the password stays in it
  let password: string | undefined = u.password ? decodeLenient(u.password) : undefined;
  let user = decodeLenient(u.username);
  const path = decodeLenient(u.pathname.replace(/^\//, ''));
  registerSecret(password);
  registerSecret(u.password);
  const params = u.searchParams;
  if (params.get('password')) {
    registerSecret(params.get('password'));
    password = params.get('password') ?? undefined;
  }
  user = user || params.get('user') || '';
  if (!user) throw invalid(side, 'names no user');
  const database = path || params.get('dbname') || user;
  const host = (u.hostname || params.get('host') || '').replace(/^\[|\]$/g, '');
  if (!host) throw invalid(side, 'names no host');
  const port = u.port ? Number(u.port) : params.get('port') ? Number(params.get('port')) : 5432;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(side, `has an invalid port`);

  const loopback = isLoopbackHost(host);
  const { mode: sslMode, from: sslModeFrom } = chooseSslMode(side, loopback, cfg.sslMode, urlSslMode(side, params));
  const caFile = cfg.caFile ?? params.get('sslrootcert') ?? undefined;
  if (caFile !== undefined && (sslMode === 'disable' || sslMode === 'require')) {
    throw new PgshiftError(
      'CONFIG_INVALID',
      `${side}: a CA file is given but ssl.mode is ${sslMode}, which does not check certificates`,
      {
        hint: 'Use ssl.mode: verify-full (or verify-ca) so that the CA file is used.',
      },
    );
  }

  if (cfg.provider === 'supabase' && side === 'target') {
    if (port === TRANSACTION_POOLER_PORT) {
      throw new PgshiftError(
        'CONNECT_POOLER_TRANSACTION_MODE',
        `target.url points at port ${TRANSACTION_POOLER_PORT}, Supabase's transaction pooler, which cannot run a migration (no session settings, advisory locks or long transactions)`,
        {
          hint: 'Use the direct connection (db.<ref>.supabase.co:5432) or the session pooler (port 5432 on the pooler host). The transaction pooler is for the application, after cutover.',
        },
      );
    }
    if (sslMode === 'disable' && !loopback) {
      throw new PgshiftError('CONNECT_TLS_REQUIRED', `target: TLS is disabled for a Supabase target at ${host}`, {
        hint: 'Patient data must not cross the network in clear text: write `target.ssl: { mode: verify-full, ca_file: ./prod-ca-2021.crt }` (the project CA from the dashboard).',
      });
    }
  }

  const display = `${user}@${host.includes(':') ? `[${host}]` : host}:${port}/${database}`;
  return {
    side,
    provider: cfg.provider,
    host,
    port,
    database,
    user,
    password,
    sslMode,
    sslModeFrom,
    caFile,
    loopback,
    display,
    redactedUrl: redactUrl(cfg.url),
  };
}

/** The `ssl` option for node-postgres, exactly as the mode says. */
export function tlsOptions(ep: ResolvedEndpoint): false | ConnectionOptions {
  let ca: string | undefined;
  if (ep.caFile !== undefined) {
    try {
      ca = readFileSync(ep.caFile, 'utf8');
    } catch (err) {
      throw new PgshiftError(
        'TLS_CA_FILE_UNREADABLE',
        `${ep.side}: cannot read the CA file ${ep.caFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        {
          hint: `Check ${ep.side}.ssl.ca_file; relative paths are relative to the folder of migration.yaml.`,
        },
      );
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

/**
 * An endpoint from a URL given on the command line (`init --source`), before any migration.yaml exists: the URL's
 * own sslmode is the only place a mode can be written, so there it counts as explicit. Without one the defaults
 * apply (verify-full off loopback).
 */
export function commandLineEndpoint(side: Side, url: string): ResolvedEndpoint {
  let sslMode: SslMode | undefined;
  try {
    const m = new URL(url).searchParams.get('sslmode');
    if (m !== null && SUPPORTED_SSLMODES.has(m as SslMode)) sslMode = m as SslMode;
  } catch {
    // resolveEndpoint reports the invalid URL
  }
  return resolveEndpoint({ side, url, provider: 'postgres', sslMode, caFile: undefined, extensionSchema: undefined });
}
