/**
 * Small pg helpers with no vitest dependency (usable from the global setup too).
 */
import pg from 'pg';

// the project's one quoting helper (src/db/ident.ts), re-exported for tests
export { quoteIdent, quoteLiteral } from '../../src/db/ident.js';

/** `url` with its database (path) replaced by `database`; credentials and query are kept. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Connect a pg Client to `url`, run `fn`, always end the client. */
export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  // an error emitted while idle (e.g. the server was stopped) must not crash the worker
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
