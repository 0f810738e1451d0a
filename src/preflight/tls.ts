import type { EndpointFacts, PreflightItem } from './facts.js';

/**
 * TLS of one side. Off loopback the default is verify-full for both sides and every provider; a weaker mode is used
 * only when written as `ssl.mode` (a URL's sslmode cannot weaken it, src/db/endpoint.ts), and each one is named here
 * with its side: verify-ca and require are warned (a man in the middle would go unnoticed), no TLS is refused.
 * On a loopback host no network is crossed: any mode is information.
 */
export function tlsItems(ep: EndpointFacts): PreflightItem[] {
  const base = { check: 'tls' as const, side: ep.side };
  const block = `\`${ep.side}.ssl: { mode: verify-full, ca_file: ${ep.provider === 'supabase' ? './prod-ca-2021.crt' : './ca.crt'} }\``;
  const fix = `Write ${block} in migration.yaml${ep.provider === 'supabase' ? ' (Supabase: prod-ca-2021.crt from the dashboard)' : ' (ca.crt: the CA that signed the server certificate)'}.`;
  const written = `${ep.side}.ssl.mode: ${ep.sslMode}`;
  switch (ep.sslMode) {
    case 'verify-full':
      return [
        {
          ...base,
          code: 'TLS_VERIFIED',
          level: 'ok',
          message: `TLS verify-full: chain and host name checked against ${ep.caFile ? 'ca_file' : 'the system CAs'}`,
        },
      ];
    case 'verify-ca':
      return ep.loopback
        ? [{ ...base, code: 'TLS_LOOPBACK', level: 'info', message: 'TLS verify-ca on a loopback connection' }]
        : [
            {
              ...base,
              code: 'TLS_HOSTNAME_UNCHECKED',
              level: 'warning',
              message: `TLS verify-ca (${written}, weaker than the default verify-full): the chain is checked but not the host name`,
              hint: `Write ${block} so that a certificate for another host is refused.`,
            },
          ];
    case 'require':
      return ep.loopback
        ? [{ ...base, code: 'TLS_LOOPBACK', level: 'info', message: 'TLS require on a loopback connection' }]
        : [
            {
              ...base,
              code: 'TLS_UNVERIFIED',
              level: 'warning',
              message: `TLS require (${written}, weaker than the default verify-full): encrypted, but the server certificate is not checked (a man in the middle would go unnoticed)`,
              hint: fix,
            },
          ];
    case 'disable':
      return ep.loopback
        ? [{ ...base, code: 'TLS_LOOPBACK', level: 'info', message: 'no TLS (loopback connection)' }]
        : [
            {
              ...base,
              code: 'TLS_DISABLED',
              level: 'blocker',
              message: `no TLS to ${ep.host} (${written}): data would cross the network in clear text`,
              hint: `${fix} TLS can be off only for a server on this machine (127.0.0.1, ::1, localhost).`,
            },
          ];
    default: {
      const never: never = ep.sslMode;
      throw new Error(`unknown ssl mode ${String(never)}`);
    }
  }
}
