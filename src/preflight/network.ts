import { ipv6OnlyExplanation, type ConnectFailure } from '../db/network-failure.js';
import type { EndpointFacts, PreflightItem } from './facts.js';

export function networkItems(ep: EndpointFacts, failure: ConnectFailure | undefined): PreflightItem[] {
  if (!failure) return [];
  const why = ipv6OnlyExplanation(ep.host, failure.errno);
  if (!why) return [];
  return [
    {
      code: 'SUPABASE_DIRECT_IPV6_ONLY',
      check: 'network',
      side: ep.side,
      level: 'blocker',
      message: why.message,
      hint: why.hint,
    },
  ];
}
