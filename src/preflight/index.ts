/**
 * Preflight: pure judgements over facts gathered once (./gather.ts). doctor shows every item as a row; plan adds
 * the warnings and blockers to its findings (src/plan/refresh.ts), so apply refuses what cannot work before it
 * changes anything. Codes are stable and listed in docs/preflight.md.
 */
import type { Finding } from '../errors/finding.js';
import { connectionItems } from './connections.js';
import { extensionItems } from './extensions.js';
import type { PreflightFacts, PreflightItem, PreflightMode } from './facts.js';
import { networkItems } from './network.js';
import { poolerItems } from './pooler.js';
import { statementTimeoutItems } from './statement-timeout.js';
import { tlsItems } from './tls.js';

export type { PreflightFacts, PreflightItem, PreflightLevel, PreflightMode, SideFacts } from './facts.js';
export { endpointFacts, gatherServerFacts } from './gather.js';
export { connectFailure, ipv6OnlyExplanation, supabaseDirectRef } from '../db/network-failure.js';
export { connectionsNeeded } from './connections.js';
export { DEPRECATED_EXTENSIONS } from './extensions.js';

export function preflight(facts: PreflightFacts, mode: PreflightMode): PreflightItem[] {
  const items: PreflightItem[] = [];
  for (const side of [facts.source, facts.target]) {
    items.push(...networkItems(side.endpoint, side.connectFailure));
    if (side.server || side.connectFailure === undefined) items.push(...tlsItems(side.endpoint));
    items.push(...poolerItems(side));
  }
  const s = facts.source.server;
  const t = facts.target.server;
  if (s && t) items.push(...extensionItems(s, t, facts.target.endpoint.provider));
  if (t) items.push(...connectionItems(t.connections, t.role, facts.copyParallel, mode));
  for (const side of [facts.source, facts.target]) items.push(...statementTimeoutItems(side));
  return items;
}

/** The warnings and blockers, as plan findings (the side named first). */
export function preflightFindings(items: readonly PreflightItem[]): Finding[] {
  return items
    .filter((i) => i.level === 'warning' || i.level === 'blocker')
    .map((i) => ({
      code: i.code,
      severity: i.level === 'blocker' ? 'blocker' : 'warning',
      ...(i.address ? { address: i.address } : {}),
      message: i.side === 'both' ? i.message : `${i.side}: ${i.message}`,
      ...(i.hint ? { hint: i.hint } : {}),
    }));
}
