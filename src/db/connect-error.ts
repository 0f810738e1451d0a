import { PgshiftError } from '../errors/index.js';
import { scrub } from '../log/redact.js';
import { connectFailure, ipv6OnlyExplanation } from './network-failure.js';
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

const UNTRUSTED_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** The ssl block that verifies this side, as a user writes it in migration.yaml. */
function verifyBlock(ep: ResolvedEndpoint): string {
  return `\`${ep.side}.ssl: { mode: verify-full, ca_file: ${ep.provider === 'supabase' ? './prod-ca-2021.crt' : './ca.crt'} }\``;
}

/**
 * A TLS failure, with the exact `ssl` block that fixes it: the CA to verify with, or an explicit weaker mode for a
 * server whose certificate cannot be verified (a self-signed one on a private network is common).
 */
function tlsError(err: unknown, ep: ResolvedEndpoint, code: string, message: string): PgshiftError {
  const where = `${ep.side} (${ep.display})`;
  const side = ep.side;
  const ca =
    ep.provider === 'supabase'
      ? "Supabase's CA, prod-ca-2021.crt from the dashboard (Database settings, SSL)"
      : "the CA that signed the server's certificate (for a self-signed certificate: that certificate itself, the server's server.crt)";
  let hint: string;
  if (/does not support SSL/i.test(message)) {
    hint = ep.loopback
      ? `The server does not offer TLS. For a server on this machine none is needed: remove ${side}.ssl.mode, or write \`${side}.ssl: { mode: disable }\`.`
      : `The server does not offer TLS, and pgshift does not send data in clear text across a network. Turn TLS on in the server (ssl = on, with a certificate), then write ${verifyBlock(ep)} in migration.yaml (ca_file: ${ca}), or \`${side}.ssl: { mode: require }\` to accept its certificate unchecked. A server on this machine needs none: connect to it as 127.0.0.1 or localhost.`;
  } else if (UNTRUSTED_CODES.has(code) || /self[- ]signed|unable to verify|issuer certificate/i.test(message)) {
    const what = /SELF_SIGNED|self[- ]signed/i.test(`${code} ${message}`)
      ? 'is self-signed (or signed by a private CA)'
      : 'is signed by a CA this machine does not trust';
    hint =
      ep.caFile !== undefined
        ? `The server's certificate ${what}, and ${side}.ssl.ca_file (${ep.caFile}) is not the CA that signed it. Point ca_file to ${ca}, or write \`${side}.ssl: { mode: require }\` to accept the certificate unchecked.`
        : `The server's certificate ${what}. Write ${verifyBlock(ep)} in migration.yaml, with ca_file: ${ca}; or, to accept the certificate unchecked on purpose, \`${side}.ssl: { mode: require }\` (doctor and plan then warn TLS_UNVERIFIED).`;
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    hint = `The server's certificate is not valid for host "${ep.host}". Connect with a host name the certificate names, or write \`${side}.ssl: { mode: verify-ca${ep.caFile ? '' : ', ca_file: ./ca.crt'} }\` to check the chain but not the host name.`;
  } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    hint = `The server's certificate is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet'}: renew it on the server (or check this machine's clock).`;
  } else {
    hint = `Write ${verifyBlock(ep)} in migration.yaml, with ca_file: ${ca}.`;
  }
  const how =
    ep.sslModeFrom === 'default'
      ? `${ep.sslMode}, the default for ${ep.loopback ? 'a loopback host' : 'a host that is not on this machine'}`
      : ep.sslMode;
  return new PgshiftError('CONNECT_TLS_FAILED', `TLS to ${where} failed (${how}): ${causeText(err)}`, {
    hint,
    cause: err,
  });
}

/** Maps a driver error during connect to a PgshiftError that names the side, the server and the next step. */
export function connectError(err: unknown, ep: ResolvedEndpoint, attempts: number): PgshiftError {
  if (err instanceof PgshiftError) return err;
  const e = (err ?? {}) as { code?: string; message?: string };
  const where = `${ep.side} (${ep.display})`;
  const code = e.code ?? '';
  const message = String(e.message ?? '');
  if (code === '28P01' || /password authentication failed/i.test(message)) {
    return new PgshiftError('CONNECT_AUTH_FAILED', `password authentication failed for user "${ep.user}" on ${where}`, {
      hint: envHint(ep),
      cause: err,
    });
  }
  if (code === '28000') {
    return new PgshiftError('CONNECT_AUTH_FAILED', `${where} refused the login: ${scrub(message)}`, {
      hint: `${envHint(ep)} The server's pg_hba.conf or the role may also need a change.`,
      cause: err,
    });
  }
  if (code === '3D000') {
    return new PgshiftError('CONNECT_DATABASE_MISSING', `database "${ep.database}" does not exist on ${where}`, {
      hint: `Create it first (CREATE DATABASE) or fix the database name in ${ep.side}.url.`,
      cause: err,
    });
  }
  if (TLS_CODES.has(code) || /certificate|self[- ]signed|SSL|TLS/i.test(message))
    return tlsError(err, ep, code, message);
  // db.<ref>.supabase.co is IPv6-only: from an IPv4-only network it fails with one of these, whatever the provider
  const ipv6 = ipv6OnlyExplanation(ep.host, connectFailure(err).errno);
  if (ipv6)
    return new PgshiftError('CONNECT_FAILED', `could not connect to ${where}: ${ipv6.message}`, {
      hint: ipv6.hint,
      cause: err,
    });
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
