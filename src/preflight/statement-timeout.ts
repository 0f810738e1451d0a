import type { PreflightItem, SideFacts } from './facts.js';

/**
 * pgshift runs SET statement_timeout = 0 in every session (Supabase's global default of about two minutes would
 * kill long COPYs and checksums). Reports the server's default, and warns when the session still has a timeout
 * after the SET (a pooler that drops session settings, or a setting forced on the role).
 */
export function statementTimeoutItems(f: SideFacts): PreflightItem[] {
  const s = f.server;
  if (!s) return [];
  const side = f.endpoint.side;
  const base = { check: 'statement_timeout' as const, side };
  const { serverDefault, session } = s.statementTimeout;
  if (session !== '0') {
    return [
      {
        ...base,
        code: 'STATEMENT_TIMEOUT_NOT_OVERRIDDEN',
        level: 'warning',
        message: `statement_timeout is ${session} in pgshift's session after SET statement_timeout = 0 (server default ${serverDefault}): long copies and checksums may be cancelled`,
        hint: `Find what sets it (ALTER ROLE ${s.role} RESET statement_timeout, or a pooler that drops session settings) and connect so that the session keeps statement_timeout = 0.`,
      },
    ];
  }
  if (serverDefault === '0')
    return [
      {
        ...base,
        code: 'STATEMENT_TIMEOUT_NONE',
        level: 'ok',
        message: 'statement_timeout: no server default; pgshift sets 0 in its sessions',
      },
    ];
  return [
    {
      ...base,
      code: 'STATEMENT_TIMEOUT_OVERRIDDEN',
      level: 'info',
      message: `statement_timeout: server default ${serverDefault} for role ${s.role}; pgshift sets 0 in its own sessions (checked); other sessions keep ${serverDefault}`,
    },
  ];
}
