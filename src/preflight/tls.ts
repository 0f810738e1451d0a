import type { EndpointFacts, PreflightItem } from './facts.js';

/**
 * TLS of one side: verify-full (with the provider's CA) is what a patient-data migration should use; require
 * encrypts but lets a man in the middle through and is warned; no TLS is refused unless the server is on this
 * machine (loopback), where no network is crossed.
 */
export function tlsItems(ep: EndpointFacts): PreflightItem[] {
  const base = { check: 'tls' as const, side: ep.side };
  const fix = `Set ${ep.side}.ssl.mode: verify-full with ${ep.side}.ssl.ca_file${ep.provider === 'supabase' ? ' (Supabase: prod-ca-2021.crt from the dashboard)' : ' (the CA that signed the server certificate)'}.`;
  switch (ep.sslMode) {
    case 'verify-full':
      return [{ ...base, code: 'TLS_VERIFIED', level: 'ok', message: `TLS verify-full: chain and host name checked against ${ep.caFile ? 'ca_file' : 'the system CAs'}` }];
    case 'verify-ca':
      return ep.loopback
        ? [{ ...base, code: 'TLS_LOOPBACK', level: 'info', message: 'TLS verify-ca on a loopback connection' }]
        : [{ ...base, code: 'TLS_HOSTNAME_UNCHECKED', level: 'warning', message: 'TLS verify-ca: the chain is checked but not the host name', hint: `Set ${ep.side}.ssl.mode: verify-full so that a certificate for another host is refused.` }];
    case 'require':
      return ep.loopback
        ? [{ ...base, code: 'TLS_LOOPBACK', level: 'info', message: 'TLS require on a loopback connection' }]
        : [{ ...base, code: 'TLS_UNVERIFIED', level: 'warning', message: 'TLS require: encrypted, but the server certificate is not checked (a man in the middle would go unnoticed)', hint: fix }];
    case 'disable':
      return ep.loopback
        ? [{ ...base, code: 'TLS_LOOPBACK', level: 'info', message: 'no TLS (loopback connection)' }]
        : [{ ...base, code: 'TLS_DISABLED', level: 'blocker', message: `no TLS to ${ep.host}: data would cross the network in clear text`, hint: fix }];
    default: {
      const never: never = ep.sslMode;
      throw new Error(`unknown ssl mode ${String(never)}`);
    }
  }
}
