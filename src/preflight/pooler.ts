import type { PreflightItem, SideFacts } from './facts.js';

/** The pooler probe's verdict as a doctor row (plan, apply and verify refuse a transaction pooler outright). */
export function poolerItems(f: SideFacts): PreflightItem[] {
  if (!f.pooling) return [];
  const side = f.endpoint.side;
  if (f.pooling.mode === 'session') {
    return [
      {
        code: 'POOLER_SESSION',
        check: 'pooler',
        side,
        level: 'ok',
        message: `sessions are pinned (a direct connection or a session pooler): ${f.pooling.evidence}`,
      },
    ];
  }
  return [
    {
      code: 'POOLER_TRANSACTION_MODE',
      check: 'pooler',
      side,
      level: 'blocker',
      message: `behind a connection pooler in transaction (or statement) mode: ${f.pooling.evidence}; a migration needs session settings, advisory locks and long transactions`,
      hint: `Point ${side}.url at the database itself or at a session-mode pooler${f.endpoint.provider === 'supabase' ? ' (Supabase: the direct host, or the session pooler on port 5432)' : ''}; the application may use the transaction pooler after cutover.`,
    },
  ];
}
