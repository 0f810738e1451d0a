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

/**
 * Waits until every transaction that began before now on the server has ended (the cluster-wide snapshot xmin has
 * passed this moment's txid). The copy explains a row by "written at or after the copy's snapshot xmin", and that
 * xmin is cluster-wide: another test's transaction still open on the shared server when a copy starts makes the
 * rows this test just loaded count as written since. A test that expects a copy error waits here before apply.
 */
export async function waitForSettled(url: string, timeoutMs = 60_000): Promise<void> {
  await withPg(url, async (c) => {
    const now = (await c.query<{ t: string }>('SELECT pg_catalog.txid_current()::text AS t')).rows[0]?.t ?? '0';
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await c.query<{ ok: boolean }>(
        'SELECT pg_catalog.txid_snapshot_xmin(pg_catalog.txid_current_snapshot()) > $1::bigint AS ok',
        [now],
      );
      if (r.rows[0]?.ok) return;
      if (Date.now() > until)
        throw new Error(`transactions older than txid ${now} are still open on the server after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 100));
    }
  });
}
