import { PgshiftError } from '../errors/index.js';
import { scrub } from '../log/redact.js';
import { connectFailure } from '../preflight/gather.js';
import { ipv6OnlyExplanation } from '../preflight/network.js';
import type { ResolvedEndpoint } from './endpoint.js';

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

function causeText(err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: unknown[] };
  if (Array.isArray(e.errors) && e.errors.length > 0) return causeText(e.errors[0]);
  const msg = scrub(String(e.message ?? err));
  return e.code && !msg.includes(e.code) ? `${e.code}: ${msg}` : msg;
}

function envHint(ep: ResolvedEndpoint): string {
  return `Check ${ep.side}.url in migration.yaml (or the environment variable it reads, e.g. ${ep.side === 'source' ? 'SOURCE_DATABASE_URL' : 'TARGET_DATABASE_URL'}).`;
}

/** Maps a driver error during connect to a PgshiftError that names the side, the server and the next step. */
export function connectError(err: unknown, ep: ResolvedEndpoint, attempts: number): PgshiftError {
  if (err instanceof PgshiftError) return err;
  const e = (err ?? {}) as { code?: string; message?: string };
  const where = `${ep.side} (${ep.display})`;
  const code = e.code ?? '';
  const message = String(e.message ?? '');
  if (code === '28P01' || /password authentication failed/i.test(message)) {
    return new PgshiftError('CONNECT_AUTH_FAILED', `password authentication failed for user "${ep.user}" on ${where}`, { hint: envHint(ep), cause: err });
  }
  if (code === '28000') {
    return new PgshiftError('CONNECT_AUTH_FAILED', `${where} refused the login: ${scrub(message)}`, { hint: `${envHint(ep)} The server's pg_hba.conf or the role may also need a change.`, cause: err });
  }
  if (code === '3D000') {
    return new PgshiftError('CONNECT_DATABASE_MISSING', `database "${ep.database}" does not exist on ${where}`, { hint: `Create it first (CREATE DATABASE) or fix the database name in ${ep.side}.url.`, cause: err });
  }
  if (TLS_CODES.has(code) || /certificate|self[- ]signed|SSL|TLS/i.test(message)) {
    const hint =
      /does not support SSL/i.test(message)
        ? `The server does not offer TLS. Enable ssl on the server, or set ${ep.side}.ssl.mode: disable only for a server on this machine.`
        : code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? `The server's certificate is not valid for host "${ep.host}". Connect with the host name the certificate names, or use ssl.mode: verify-ca.`
          : `Set ${ep.side}.ssl.ca_file to the CA that signed the server's certificate (Supabase: prod-ca-2021.crt from the dashboard) with ssl.mode: verify-full.`;
    return new PgshiftError('CONNECT_TLS_FAILED', `TLS to ${where} failed (${ep.sslMode}): ${causeText(err)}`, { hint, cause: err });
  }
  // db.<ref>.supabase.co is IPv6-only: from an IPv4-only network it fails with one of these, whatever the provider
  const ipv6 = ipv6OnlyExplanation(ep.host, connectFailure(err).errno);
  if (ipv6) return new PgshiftError('CONNECT_FAILED', `could not connect to ${where}: ${ipv6.message}`, { hint: ipv6.hint, cause: err });
  if (code === 'ENOTFOUND') {
    return new PgshiftError('CONNECT_FAILED', `cannot resolve host "${ep.host}" for ${ep.side}`, {
      hint:
        ep.provider === 'supabase'
          ? "Supabase's direct host (db.<ref>.supabase.co) has only an IPv6 address unless the IPv4 add-on is on. From an IPv4-only network use the session pooler URL (aws-N-<region>.pooler.supabase.com:5432)."
          : envHint(ep),
      cause: err,
    });
  }
  const tried = attempts > 1 ? ` after ${attempts} attempts` : '';
  return new PgshiftError('CONNECT_FAILED', `could not connect to ${where}${tried}: ${causeText(err)}`, {
    hint: `Is the server running and reachable from here? ${envHint(ep)} Run \`pgshift doctor\` to check both sides.`,
    cause: err,
  });
}
