/**
 * Issue 13 end to end, through the CLI: a writer (inserts, updates that increment a counter, deletes, an append-only
 * keyless log, a TRUNCATE of a small table, an unlogged table) runs throughout `apply`, `apply --follow` and a
 * `stream` cutover. The follower is SIGKILLed five times while streaming and restarted; the cutover takes the lock
 * over from the last one. Every acknowledged write is on the target, the target equals the frozen source (a change
 * applied twice would show in the counters, one lost in the rows), and the slot and publications are gone.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliAsync } from '../e2e/cli.js';
import { expectSameData } from '../support/compare.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, withPg } from '../support/databases.js';
import { exited, startCli, until } from '../support/follower.js';

const cfg = configDir('stream-cutover');
afterAll(() => cfg.remove());

const SOURCE_SQL = `
CREATE TABLE accounts (id bigserial PRIMARY KEY, counter int NOT NULL DEFAULT 0, note text);
CREATE TABLE audit (at timestamptz NOT NULL DEFAULT now(), what text);
CREATE TABLE tiny (id int PRIMARY KEY, v text);
CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO scratch SELECT g, 0 FROM generate_series(1, 100) g;
INSERT INTO accounts (note) SELECT 'a' || g FROM generate_series(1, 5000) g;
INSERT INTO audit (what) SELECT 'seed ' || g FROM generate_series(1, 2000) g;
INSERT INTO tiny SELECT g, 'x' FROM generate_series(1, 10) g;
`;

interface Writer {
  stop(): Promise<void>;
  readonly acked: { increments: Map<number, number>; audit: number; deleted: number[] };
}

function startWriter(url: string): Writer {
  const acked = { increments: new Map<number, number>(), audit: 0, deleted: [] as number[] };
  let running = true;
  let i = 0;
  const client = new pg.Client({ connectionString: url });
  const loop = (async (): Promise<void> => {
    await client.connect();
    while (running) {
      i += 1;
      const id = 1 + ((i * 7919) % 5000);
      try {
        await client.query('BEGIN');
        await client.query('UPDATE accounts SET counter = counter + 1 WHERE id = $1', [id]);
        await client.query('INSERT INTO audit (what) VALUES ($1)', [`w${i}`]);
        await client.query('INSERT INTO accounts (note) VALUES ($1)', [`new ${i}`]);
        if (i % 17 === 0) await client.query('DELETE FROM accounts WHERE id = $1', [5000 + Math.floor(i / 2)]);
        // an unlogged table: no WAL, no publication; the cutover rescans it inside the freeze
        await client.query('INSERT INTO scratch VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET v = excluded.v', [
          1 + (i % 150),
          i,
        ]);
        if (i % 13 === 0) await client.query('DELETE FROM scratch WHERE id = $1', [1 + ((i * 3) % 150)]);
        if (i % 50 === 0) {
          await client.query('TRUNCATE tiny');
          await client.query(`INSERT INTO tiny SELECT g, $1 FROM generate_series(1, 10) g`, [`t${i}`]);
        }
        await client.query('COMMIT');
        acked.increments.set(id, (acked.increments.get(id) ?? 0) + 1);
        acked.audit += 1;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        if ((err as { code?: string }).code !== '25006') throw err;
        await new Promise((r) => setTimeout(r, 20)); // the freeze refuses writes: the application waits
      }
      await new Promise((r) => setTimeout(r, 3));
    }
  })();
  return {
    acked,
    async stop(): Promise<void> {
      running = false;
      try {
        await loop;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}

async function slotState(url: string): Promise<{ active: boolean; applied: string | null }[]> {
  return withPg(url, async (c) => {
    const r = await c.query<{ active: boolean }>(
      `SELECT active FROM pg_replication_slots WHERE slot_name LIKE 'pgshift%' AND database = current_database()`,
    );
    return r.rows.map((x) => ({ active: x.active, applied: null }));
  });
}

async function appliedTransactions(targetUrl: string): Promise<number> {
  return withPg(targetUrl, async (c) =>
    Number((await c.query<{ n: string }>('SELECT coalesce(sum(transactions), 0) AS n FROM pgshift.stream')).rows[0]?.n),
  );
}

describe('stream cutover on a live source', () => {
  it('apply, a follower killed five times, a stream cutover: every acknowledged write lands exactly once', async () => {
    const dbs = await freshDatabases('stream_cutover');
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE_SQL));
    const writer = startWriter(dbs.sourceUrl);
    try {
      const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
      const file = cfg.write(
        minimalConfig(`copy: { batch_size: 1000 }
cutover:
  strategy: stream
  max_write_freeze: 30s
`),
        'stream.yaml',
      );
      await until('the writer', async () => writer.acked.audit > 20);
      const plan = await runCliAsync(['plan', '-c', file], env);
      expect(plan.status, plan.stderr).toBe(0);
      expect(plan.stdout).toContain('replication slot');
      const applied = await runCliAsync(['apply', '-c', file, '--auto-approve'], env);
      expect(applied.status, applied.stderr + applied.stdout).toBe(0);

      for (let kill = 0; kill < 5; kill++) {
        const f = startCli(['apply', '-c', file, '--auto-approve', '--follow'], env);
        const before = await appliedTransactions(dbs.targetUrl);
        await until('the follower to apply', async () => {
          if (f.child.exitCode !== null) throw new Error(`follower ${kill} exited ${f.child.exitCode}:\n${f.out()}`);
          return (await appliedTransactions(dbs.targetUrl)) > before + 5;
        });
        f.child.kill('SIGKILL');
        await exited(f.child);
        // the killed walsender lets go of the slot once the server sees the connection gone
        await until('the slot to be released', async () => (await slotState(dbs.sourceUrl)).every((s) => !s.active));
      }
      // while streaming, verify passes: the streamed rows are past the target's sequences, which the cutover sets
      const live = await runCliAsync(['verify', '-c', file, '--json'], env);
      expect(live.status, live.stdout + live.stderr).toBe(0);
      // a sequence behind streamed rows, if any, is a SEQUENCE_BEHIND_STREAMED_ROWS finding, not a difference
      expect((JSON.parse(live.stdout) as { schema: unknown[] }).schema).toEqual([]);
      const last = startCli(['apply', '-c', file, '--auto-approve', '--follow'], env);
      const before = await appliedTransactions(dbs.targetUrl);
      await until('the last follower to apply', async () => {
        if (last.child.exitCode !== null)
          throw new Error(`the last follower exited ${last.child.exitCode}:\n${last.out()}`);
        return (await appliedTransactions(dbs.targetUrl)) > before + 5;
      }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n${last.out()}`);
      });

      const cut = await runCliAsync(['cutover', '-c', file, '--auto-approve'], env);
      expect(cut.status, cut.stderr + cut.stdout).toBe(0);
      expect(cut.stdout + cut.stderr).toContain('stream');
      // inside the freeze only the tables the stream does not fully carry are rescanned: the keyless log published
      // for inserts only and the unlogged table, never the streamed ones
      expect(cut.stdout + cut.stderr).toContain(
        '2 table(s) the stream does not fully carry rescanned (public.audit, public.scratch:',
      );
      expect(await exited(last.child), last.out()).toBe(0);
      expect(last.out()).toContain('handed over');
      await writer.stop();

      // the source is frozen: it and the target hold the same rows, counters included
      await expectSameData(dbs.sourceUrl, dbs.targetUrl);
      const counters = await withPg(dbs.targetUrl, async (c) => {
        const r = await c.query<{ id: string; counter: number }>('SELECT id, counter FROM accounts WHERE counter > 0');
        return new Map(r.rows.map((x) => [Number(x.id), x.counter]));
      });
      expect(counters).toEqual(writer.acked.increments);
      const audit = await withPg(dbs.targetUrl, async (c) =>
        Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM audit WHERE what LIKE 'w%'`)).rows[0]?.n),
      );
      expect(audit).toBe(writer.acked.audit);
      // nothing of pgshift's left on the source
      expect(await slotState(dbs.sourceUrl)).toEqual([]);
      const pubs = await withPg(
        dbs.sourceUrl,
        async (c) => (await c.query(`SELECT pubname FROM pg_publication WHERE pubname LIKE 'pgshift%'`)).rows,
      );
      expect(pubs).toEqual([]);
    } finally {
      await writer.stop().catch(() => undefined);
      await dbs.drop();
    }
  }, 240_000);
});
