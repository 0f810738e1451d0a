import pg from 'pg';
import { quoteIdent } from '../db/ident.js';
import { scrub } from '../log/redact.js';

/**
 * Placeholder by the lead (the preflight helper owns this file and replaces it): connects to the URL the
 * application will use, the way an app with prepared statements off does, and reads a few migrated tables.
 */
export async function checkApplicationUrl(
  url: string,
  opts: { tables: { schema: string; name: string }[]; timeoutMs?: number; caFile?: string },
): Promise<{ ok: boolean; latencyMs: number; pooling: 'transaction' | 'session'; problems: string[] }> {
  const started = performance.now();
  const problems: string[] = [];
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: opts.timeoutMs ?? 10_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    for (const t of opts.tables) await client.query(`SELECT 1 FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)} LIMIT 1`);
  } catch (err) {
    problems.push(scrub((err as Error).message));
  } finally {
    await client.end().catch(() => undefined);
  }
  return { ok: problems.length === 0, latencyMs: Math.round(performance.now() - started), pooling: 'session', problems };
}
