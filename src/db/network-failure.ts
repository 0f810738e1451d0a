/**
 * What a failed connection says about the network: the system error behind it, and the one case pgshift explains
 * (Supabase's IPv6-only direct host). Used by connect (its error) and by preflight and doctor (their findings).
 */

const SUPABASE_DIRECT = /^db\.([a-z0-9]+)\.supabase\.co$/i;
/** What a connection to an IPv6-only host looks like from a network without IPv6. */
const IPV6_UNREACHABLE = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'ENOTFOUND', 'EADDRNOTAVAIL']);

/** The network error behind a failed connection (ENETUNREACH, EHOSTUNREACH, ENOTFOUND, ECONNREFUSED, ...). */
export interface ConnectFailure {
  readonly errno: string | undefined;
}

/** The system error code behind a failed connection (through PgshiftError causes and Node's AggregateError). */
export function connectFailure(err: unknown): ConnectFailure {
  const seen = new Set<unknown>();
  const find = (e: unknown): string | undefined => {
    if (!e || typeof e !== 'object' || seen.has(e)) return undefined;
    seen.add(e);
    const x = e as { code?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof x.code === 'string' && /^E[A-Z]+$/.test(x.code)) return x.code;
    for (const inner of Array.isArray(x.errors) ? x.errors : []) {
      const c = find(inner);
      if (c) return c;
    }
    return find(x.cause);
  };
  return { errno: find(err) };
}

/** The project ref of Supabase's direct host db.<ref>.supabase.co, or null for any other host. */
export function supabaseDirectRef(host: string): string | null {
  return SUPABASE_DIRECT.exec(host)?.[1] ?? null;
}

/**
 * When a connection to db.<ref>.supabase.co failed the way an IPv6-only host fails from an IPv4-only network, the
 * explanation and the fix (the session pooler); null otherwise.
 */
export function ipv6OnlyExplanation(host: string, errno: string | undefined): { message: string; hint: string } | null {
  const ref = supabaseDirectRef(host);
  if (ref === null || errno === undefined || !IPV6_UNREACHABLE.has(errno)) return null;
  return {
    message:
      `${host} could not be reached (${errno}): Supabase's direct host has only an IPv6 address unless the project has the IPv4 add-on, ` +
      (errno === 'ENOTFOUND'
        ? 'and no address this machine can use was found for it (or the project ref is wrong)'
        : 'and this network has no IPv6 route'),
    hint: `Use the session pooler instead (IPv4): host aws-N-<region>.pooler.supabase.com, port 5432 (not the transaction pooler's 6543), user postgres.${ref}; Dashboard > Connect > Session pooler shows the exact URL. Or enable the project's IPv4 add-on.`,
  };
}
