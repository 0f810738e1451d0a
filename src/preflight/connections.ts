import type { ConnectionFacts, PreflightItem, PreflightMode } from './facts.js';

/** Target connections one apply needs: a copy worker each, plus the control (lock) and state sessions. */
export function connectionsNeeded(parallel: number): number {
  return parallel + 2;
}

const HINT = 'Lower copy.parallel, or free connections on the target (the application keeps needing its own).';

/**
 * Connection headroom on the target for copy.parallel. doctor looks at what is free now; plan looks at what the
 * server and the role could ever give (max_connections less reserved slots, the role's CONNECTION LIMIT), because
 * a plan must not change with the application's traffic. apply itself caps its workers to what is free.
 */
export function connectionItems(
  c: ConnectionFacts,
  role: string,
  parallel: number,
  mode: PreflightMode,
): PreflightItem[] {
  const needed = connectionsNeeded(parallel);
  const minimum = connectionsNeeded(1);
  const base = { code: 'CONNECTION_HEADROOM', check: 'connections' as const, side: 'target' as const };
  if (mode === 'doctor') {
    const serverFree = c.maxConnections - c.reserved - c.inUse;
    const roleFree = c.roleLimit === null ? Infinity : c.roleLimit - c.roleInUse;
    const free = Math.min(serverFree, roleFree);
    const level = free < needed ? 'blocker' : free < needed * 2 ? 'warning' : 'ok';
    return [
      {
        ...base,
        level,
        message:
          roleFree < serverFree
            ? `${free} connections free under role ${role}'s CONNECTION LIMIT ${c.roleLimit}; copy.parallel=${parallel} needs ${needed}`
            : `${free} of ${c.maxConnections} connections free; copy.parallel=${parallel} needs ${needed}`,
        ...(level === 'ok' ? {} : { hint: HINT }),
      },
    ];
  }
  const serverCap = c.maxConnections - c.reserved;
  const cap = c.roleLimit === null ? serverCap : Math.min(serverCap, c.roleLimit);
  const limit =
    c.roleLimit !== null && c.roleLimit < serverCap
      ? `role ${role}'s CONNECTION LIMIT ${c.roleLimit}`
      : `max_connections ${c.maxConnections} less ${c.reserved} reserved`;
  if (cap < minimum) {
    return [
      {
        ...base,
        code: 'CONNECTIONS_INSUFFICIENT',
        level: 'blocker',
        message: `${limit} allows ${cap} connections; apply needs at least ${minimum}`,
        hint: `Raise the limit (ALTER ROLE ${role} CONNECTION LIMIT ...) or connect as another role.`,
      },
    ];
  }
  if (cap < needed) {
    return [
      {
        ...base,
        level: 'warning',
        message: `copy.parallel=${parallel} needs ${needed} target connections but ${limit} allows ${cap}: apply will run fewer copy workers`,
        hint: HINT,
      },
    ];
  }
  return [
    { ...base, level: 'ok', message: `copy.parallel=${parallel} needs ${needed} of ${cap} connections (${limit})` },
  ];
}
