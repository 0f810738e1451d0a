/**
 * Every copy unit records the source snapshot it read (migration_checkpoints.source_snapshot): the change stream
 * skips exactly the transactions that snapshot sees. A keyless table's rows and its recorded snapshot come from ONE
 * source transaction: a transaction that commits while the unit starts is either in both or in neither.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, withPg } from '../support/databases.js';

const cfg = configDir('copy-snapshot');
afterAll(() => cfg.remove());

describe('copy snapshots', () => {
  it('records the snapshot each unit read; transactions before are visible to it, after are not', async () => {
    const dbs = await freshDatabases('copy_snapshot');
    try {
      const before = await withPg(dbs.sourceUrl, async (c) => {
        await c.query(`CREATE TABLE log (at int, what text);
          CREATE TABLE keyed (id int PRIMARY KEY, v text);
          INSERT INTO keyed SELECT i, 'v' FROM generate_series(1, 50) i;`);
        const r = await c.query<{ x: string }>(
          `INSERT INTO log SELECT i, 'w' FROM generate_series(1, 20) i RETURNING txid_current()::text AS x`,
        );
        return r.rows[0]?.x ?? '';
      });
      const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
      const file = cfg.write(minimalConfig(''), 'snap.yaml');
      const r = runCli(['apply', '-c', file, '--auto-approve'], env);
      expect(r.status, r.stderr).toBe(0);
      const after = await withPg(
        dbs.sourceUrl,
        async (c) =>
          (await c.query<{ x: string }>(`INSERT INTO log VALUES (99, 'late') RETURNING txid_current()::text AS x`))
            .rows[0]?.x ?? '',
      );
      const snaps = await withPg(dbs.targetUrl, async (c) => {
        const q = await c.query<{ unit: string; source_snapshot: string | null }>(
          'SELECT unit, source_snapshot FROM pgshift.migration_checkpoints ORDER BY unit',
        );
        return new Map(q.rows.map((x) => [x.unit, x.source_snapshot]));
      });
      expect([...snaps.keys()]).toEqual(['copy public.keyed', 'copy public.log']);
      for (const snap of snaps.values()) expect(snap).toMatch(/^\d+:\d+:[\d,]*$/);
      const visible = await withPg(dbs.sourceUrl, async (c) => {
        const out: boolean[] = [];
        for (const x of [before, after]) {
          const q = await c.query<{ v: boolean }>(
            'SELECT txid_visible_in_snapshot($1::bigint, $2::txid_snapshot) AS v',
            [x, snaps.get('copy public.log')],
          );
          out.push(q.rows[0]?.v === true);
        }
        return out;
      });
      expect(visible).toEqual([true, false]);
    } finally {
      await dbs.drop();
    }
  });
});
