/**
 * Copy edge cases found in review, each against real servers: batch sizes follow the key order, reg* values
 * survive (text format), a source with another DateStyle, hostile names with data, a NULL-able override key is
 * refused, a re-created target table is copied again, a keyless target table with foreign rows is refused
 * (never truncated), and a run that lost its lock stops before its next batch.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/state/lock.js';
import { runCli, runCliAsync } from '../e2e/cli.js';
import { expectSameData, expectSameSchema } from '../support/compare.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, quoteIdent, withPg, type FreshDatabases } from '../support/databases.js';

const cfg = configDir('copy-edge');
afterAll(() => cfg.remove());

async function withDbs(
  label: string,
  sourceSql: string,
  fn: (dbs: FreshDatabases, env: NodeJS.ProcessEnv) => Promise<void>,
): Promise<void> {
  const dbs = await freshDatabases(label);
  try {
    await withPg(dbs.sourceUrl, (c) => c.query(sourceSql));
    await fn(dbs, { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl });
  } finally {
    await dbs.drop();
  }
}

describe('copy edge cases', () => {
  it('batches follow the key order (about rows / batch_size checkpoints), hostile names included', async () => {
    const sql = `CREATE SCHEMA "We""ird Schema";
      CREATE TABLE "We""ird Schema"."my table" (id int PRIMARY KEY, "select" text);
      INSERT INTO "We""ird Schema"."my table" SELECT i, 'row ' || i FROM generate_series(1, 3000) i;
      CREATE TABLE "We""ird Schema"."other t" (id int PRIMARY KEY, ref int REFERENCES "We""ird Schema"."my table" (id));
      INSERT INTO "We""ird Schema"."other t" SELECT i, i FROM generate_series(1, 3000) i;`;
    await withDbs('edge_batches', sql, async (dbs, env) => {
      const file = cfg.write(minimalConfig('copy: { batch_size: 1000, parallel: 2 }\n'), 'batches.yaml');
      const plan = JSON.parse(runCli(['plan', '-c', file, '--json'], env).stdout) as {
        actions: { address: string; dependsOn: string[] }[];
      };
      const fk = plan.actions.find((a) => a.address === 'constraint We"ird Schema.other t.other t_ref_fkey');
      expect(fk?.dependsOn).toEqual(
        expect.arrayContaining(['copy We"ird Schema.my table', 'copy We"ird Schema.other t']),
      );
      const r = runCli(['apply', '-c', file, '--auto-approve', '--log-level', 'debug', '--log-format', 'json'], env);
      expect(r.status, r.stderr).toBe(0);
      await expectSameData(dbs.sourceUrl, dbs.targetUrl);
      const units = await withPg(
        dbs.targetUrl,
        async (c) =>
          (
            await c.query<{ rows_copied: string }>(
              "SELECT rows_copied FROM pgshift.migration_checkpoints WHERE unit = 'copy We\"ird Schema.my table'",
            )
          ).rows,
      );
      expect(units[0]?.rows_copied).toBe('3000');
      // 3 full batches and the empty tail: batch bounds follow the key's order, not its text's
      const copied = r.stderr
        .split('\n')
        .filter((l) => l.includes('"unit copied"'))
        .map((l) => JSON.parse(l) as { unit: string; batches: number });
      expect(copied.find((c) => c.unit === 'copy We"ird Schema.my table')?.batches).toBe(4);
    });
  });

  it('a key in no heap order gets 4 batches, a part of a table in 4 parts one; not a key in order, not a batch_size asked for', async () => {
    // each batch of a random uuid key reads most of the heap: at the default 100,000 rows, 6 batches would read it 6
    // times; a key in heap order keeps its batches, and so does a table whose batch size the file sets
    const sql = `CREATE TABLE "rand key" (id uuid PRIMARY KEY, v text);
      INSERT INTO "rand key" SELECT md5('r' || i)::uuid, 'v' || i FROM generate_series(1, 600000) i;
      CREATE TABLE "ordered key" (id int PRIMARY KEY, v text);
      INSERT INTO "ordered key" SELECT i, 'v' || i FROM generate_series(1, 600000) i;
      CREATE TABLE "asked for" (id uuid PRIMARY KEY, v text);
      INSERT INTO "asked for" SELECT md5('a' || i)::uuid, 'v' || i FROM generate_series(1, 20000) i;
      ANALYZE "rand key"; ANALYZE "ordered key"; ANALYZE "asked for";`;
    const batchesOf = (stderr: string): Map<string, number> =>
      new Map(
        stderr
          .split('\n')
          .filter((l) => l.includes('"unit copied"'))
          .map((l) => JSON.parse(l) as { unit: string; batches: number })
          .map((c) => [c.unit, c.batches]),
      );
    const debug = ['--auto-approve', '--log-level', 'debug', '--log-format', 'json'];
    const asked = "tables:\n  overrides:\n    'public.asked for': { batch_size: 1000 }\n";
    await withDbs('edge_heap_order', sql, async (dbs, env) => {
      const file = cfg.write(minimalConfig(`copy: { parallel: 2 }\n${asked}`), 'heap-order.yaml');
      const r = runCli(['apply', '-c', file, ...debug], env);
      expect(r.status, r.stderr).toBe(0);
      await expectSameData(dbs.sourceUrl, dbs.targetUrl);
      const batches = batchesOf(r.stderr);
      expect(batches.get('copy public.rand key')).toBe(4);
      expect(batches.get('copy public.ordered key')).toBeGreaterThanOrEqual(6);
      expect(batches.get('copy public.asked for')).toBeGreaterThanOrEqual(20);
      // copy.batch_size set in the file: kept for every table
      await withPg(dbs.targetUrl, (c) =>
        c.query('DROP SCHEMA pgshift CASCADE; DROP TABLE "rand key", "ordered key", "asked for"'),
      );
      const fixed = cfg.write(minimalConfig('copy: { batch_size: 100000, parallel: 2 }\n'), 'heap-order-fixed.yaml');
      const again = runCli(['apply', '-c', fixed, ...debug], env);
      expect(again.status, again.stderr).toBe(0);
      expect(batchesOf(again.stderr).get('copy public.rand key')).toBeGreaterThanOrEqual(6);
    });
    await withDbs('edge_heap_order_split', sql, async (dbs, env) => {
      const file = cfg.write(
        minimalConfig(`copy: { parallel: 2, split_tables_larger_than: 8MB }\n${asked}`),
        'heap-order-split.yaml',
      );
      const r = runCli(['apply', '-c', file, ...debug], env);
      expect(r.status, r.stderr).toBe(0);
      await expectSameData(dbs.sourceUrl, dbs.targetUrl);
      const batches = batchesOf(r.stderr);
      const parts = [...batches].filter(([u]) => u.startsWith('copy public.rand key ['));
      expect(parts.length).toBeGreaterThanOrEqual(4);
      expect(parts.map(([, n]) => n)).toEqual(parts.map(() => 1));
      const ordered = [...batches].filter(([u]) => u.startsWith('copy public.ordered key ['));
      expect(ordered.reduce((n, [, b]) => n + b, 0)).toBeGreaterThanOrEqual(6);
    });
  });

  it('reg* values and a source with DateStyle SQL, DMY arrive exactly', async () => {
    const sql = `CREATE TABLE docs (id int PRIMARY KEY, cfg regconfig, rel regclass, born date, span interval, f float8);
      INSERT INTO docs VALUES (1, 'english', 'docs', '2024-03-04', '1 day 02:03:04', 0.1), (2, 'simple', 'pg_class', '2024-03-25', '-3 hours', 1e-300);`;
    await withDbs('edge_types', sql, async (dbs, env) => {
      await withPg(dbs.sourceUrl, (c) =>
        c.query(
          `ALTER DATABASE ${quoteIdent(dbs.name)} SET DateStyle = 'SQL, DMY'; ALTER DATABASE ${quoteIdent(dbs.name)} SET extra_float_digits = 0`,
        ),
      );
      const file = cfg.write(minimalConfig('copy: { batch_size: 1 }\n'), 'types.yaml');
      const plan = runCli(['plan', '-c', file], env);
      expect(plan.stdout).toMatch(/\+ copy public\.docs .*text format: column "cfg" has type regconfig/);
      const r = runCli(['apply', '-c', file, '--auto-approve'], env);
      expect(r.status, r.stderr).toBe(0);
      const rows = await withPg(
        dbs.targetUrl,
        async (c) =>
          (await c.query('SELECT id, cfg::text, rel::text, born::text, span::text, f::text FROM docs ORDER BY id'))
            .rows,
      );
      expect(rows).toEqual([
        { id: 1, cfg: 'english', rel: 'docs', born: '2024-03-04', span: '1 day 02:03:04', f: '0.1' },
        { id: 2, cfg: 'simple', rel: 'pg_class', born: '2024-03-25', span: '-03:00:00', f: '1e-300' },
      ]);
    });
  });

  it('refuses an override key that may be NULL (rows would be skipped)', async () => {
    await withDbs(
      'edge_nullkey',
      "CREATE TABLE ev (ref int, note text); INSERT INTO ev VALUES (1, 'a'), (NULL, 'b');",
      async (_dbs, env) => {
        const file = cfg.write(minimalConfig('tables:\n  overrides:\n    public.ev: { key: [ref] }\n'), 'nullkey.yaml');
        const r = runCli(['plan', '-c', file], env);
        expect(r.status).toBe(1);
        expect(r.stdout).toContain('Error [KEY_COLUMN_NULLABLE]');
      },
    );
  });

  it('copies a table again when it was dropped on the target and re-created by pgshift', async () => {
    await withDbs(
      'edge_recreate',
      'CREATE TABLE mrn (id int PRIMARY KEY, v text); INSERT INTO mrn SELECT i, i::text FROM generate_series(1, 500) i;',
      async (dbs, env) => {
        const file = cfg.write(minimalConfig(''), 'recreate.yaml');
        expect(runCli(['apply', '-c', file, '--auto-approve'], env).status).toBe(0);
        await withPg(dbs.targetUrl, (c) => c.query('DROP TABLE mrn'));
        const plan = runCli(['plan', '-c', file], env);
        expect(plan.stdout).toMatch(/\+ copy public\.mrn .*\(table re-created: copied again\)/);
        const r = runCli(['apply', '-c', file, '--auto-approve'], env);
        expect(r.status, r.stderr).toBe(0);
        await expectSameData(dbs.sourceUrl, dbs.targetUrl);
      },
    );
  });

  it('never truncates a keyless target table holding rows pgshift did not copy', async () => {
    await withDbs(
      'edge_keyless',
      "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('a'), ('b');",
      async (dbs, env) => {
        await withPg(dbs.targetUrl, (c) =>
          c.query("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('precious')"),
        );
        const file = cfg.write(minimalConfig(''), 'keyless.yaml');
        const r = runCli(['apply', '-c', file, '--auto-approve'], env);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('copy public.notes: the target table already has rows that pgshift did not copy');
        const rows = await withPg(dbs.targetUrl, async (c) => (await c.query('SELECT body FROM notes')).rows);
        expect(rows).toEqual([{ body: 'precious' }]);
        const status = JSON.parse(runCli(['status', '-c', file, '--json'], env).stdout) as {
          checkpoints: { unit: string; status: string; error: string }[];
        };
        expect(status.checkpoints.find((c) => c.unit === 'copy public.notes')).toMatchObject({ status: 'failed' });
      },
    );
  });

  it('a run whose lock was taken over stops before its next batch: no row is copied twice', async () => {
    await withDbs(
      'edge_fence',
      "CREATE TABLE big (id int PRIMARY KEY, v text); INSERT INTO big SELECT i, repeat('x', 50) FROM generate_series(1, 200000) i;",
      async (dbs, env) => {
        const file = cfg.write(minimalConfig('copy: { batch_size: 200, parallel: 1 }\n'), 'fence.yaml');
        const running = runCliAsync(['apply', '-c', file, '--auto-approve'], env);
        let lockId: string | undefined;
        for (let i = 0; i < 300 && !lockId; i++) {
          await new Promise((r) => setTimeout(r, 50));
          lockId = await withPg(dbs.targetUrl, async (c) => {
            const r = await c
              .query<{ lock_id: string; n: string }>(
                'SELECT l.lock_id, (SELECT coalesce(sum(rows_copied), 0) FROM pgshift.migration_checkpoints)::text AS n FROM pgshift.lock l',
              )
              .catch(() => ({ rows: [] as { lock_id: string; n: string }[] }));
            return r.rows[0] && Number(r.rows[0].n) > 1000 ? r.rows[0].lock_id : undefined;
          });
        }
        expect(lockId, 'the apply never started copying').toBeDefined();
        const u = runCli(['unlock', lockId as string, '-c', file], env);
        expect(u.status, u.stderr).toBe(0);
        // another run takes the lock at once (as a second apply would)
        await withPg(dbs.targetUrl, async (c) => {
          // the unlocked run's session may take a moment to end on loaded cores: retry for a few seconds
          let other: Awaited<ReturnType<typeof acquireLock>> | undefined;
          for (let i = 0; !other; i++) {
            other = await acquireLock(c, { runId: 'other', command: 'apply', operator: 'test', host: 'here' }).catch(
              (err: unknown) => {
                if (i >= 50) throw err;
                return new Promise<undefined>((r) => setTimeout(() => r(undefined), 200));
              },
            );
          }
          const first = await running;
          expect(first.status).toBe(1);
          expect(first.stderr).toMatch(/no longer holds the target's lock|LOCK_HELD/);
          await other.release();
        });
        const again = runCli(['apply', '-c', file, '--auto-approve'], env);
        expect(again.status, again.stderr).toBe(0);
        await expectSameData(dbs.sourceUrl, dbs.targetUrl);
        await expectSameSchema(dbs.sourceUrl, dbs.targetUrl);
      },
    );
  });
});
