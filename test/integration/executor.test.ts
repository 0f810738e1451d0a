/**
 * The executor against a real target: a failed action skips what depends on it and lets independent work finish;
 * an abort stops scheduling and leaves the rest not started; per-table locks keep two actions on one table apart.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, type ExecutorEvent } from '../../src/apply/executor.js';
import type { Action } from '../../src/plan/model.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

let dbs: FreshDatabases;
beforeAll(async () => {
  dbs = await freshDatabases('executor');
});
afterAll(async () => dbs?.drop());

const action = (
  id: string,
  sql: string,
  dependsOn: string[] = [],
  locks: string[] = [],
  phase: Action['phase'] = 'pre-data',
): Action => ({
  kind: 'set_sequence_value',
  id,
  address: id,
  dependsOn,
  locks,
  phase,
  change: 'create',
  reason: 'test',
  sql: [sql],
});

async function openWorker(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: dbs.targetUrl });
  await c.connect();
  return c;
}

/** An index (shared) or a primary key built as its index and attached, on table public.<table>. */
const lockedBuild = (id: string, table: string, lockMode: 'shared' | 'attach', dependsOn: string[] = []): Action =>
  ({
    kind: 'create_object',
    objectKind: lockMode === 'attach' ? 'constraint' : 'index',
    id,
    address: id,
    dependsOn,
    locks: [`table public.${table}`],
    phase: 'post-data',
    change: 'create',
    reason: 'test',
    sql: ['SELECT 1'],
    definitionHash: 'x',
    lockMode,
  }) as Action;

const run = async (a: Action, c: pg.Client): Promise<void> => {
  if (a.kind !== 'set_sequence_value') throw new Error('unexpected');
  for (const s of a.sql) await c.query(s);
};

describe('execute', () => {
  it('skips what depends on a failure, transitively, and finishes independent work', async () => {
    const events: ExecutorEvent[] = [];
    const result = await execute(
      [
        action('a', 'CREATE TABLE ex_a (id int)'),
        action('bad', 'CREATE TABLE ex_bad (id no_such_type)'),
        action('child', 'CREATE TABLE ex_child (id int)', ['bad']),
        action('grandchild', 'CREATE TABLE ex_grandchild (id int)', ['child'], [], 'post-data'),
        action('after', 'CREATE INDEX ex_a_idx ON ex_a (id)', ['a'], [], 'post-data'),
      ],
      { concurrency: 2, openWorker, run, onEvent: (e) => events.push(e) },
    );
    expect([...result.done].sort()).toEqual(['a', 'after']);
    expect(result.failed.map((f) => f.id)).toEqual(['bad']);
    expect(result.failed[0]?.message).toContain('no_such_type');
    expect([...result.skipped].sort()).toEqual(['child', 'grandchild']);
    const tables = await withPg(dbs.targetUrl, async (c) =>
      (
        await c.query<{ t: string }>("SELECT relname AS t FROM pg_class WHERE relname LIKE 'ex\\_%' ORDER BY 1")
      ).rows.map((r) => r.t),
    );
    expect(tables).toEqual(['ex_a', 'ex_a_idx']);
    expect(events.filter((e) => e.type === 'action-skipped')).toHaveLength(2);
  });

  it('never runs two actions holding the same table lock at once, and runs the phases in order', async () => {
    const log: string[] = [];
    const slow = async (a: Action, c: pg.Client): Promise<void> => {
      log.push(`start ${a.id}`);
      await c.query('SELECT pg_sleep(0.2)');
      log.push(`end ${a.id}`);
    };
    await execute(
      [
        action('x1', '', [], ['table t']),
        action('x2', '', [], ['table t']),
        action('y', '', [], ['table u']),
        action('z', '', [], [], 'post-data'),
      ],
      { concurrency: 4, openWorker, run: slow },
    );
    const i = (s: string): number => log.indexOf(s);
    expect(i('start x2') > i('end x1') || i('start x1') > i('end x2')).toBe(true);
    expect(i('start y')).toBeLessThan(i('end x1')); // independent table: concurrent
    expect(i('start z')).toBeGreaterThan(Math.max(i('end x1'), i('end x2'), i('end y')));
  });

  it('builds the indexes of one table side by side with one attaching build at a time, and the rest alone', async () => {
    const log: string[] = [];
    const slow = async (a: Action, c: pg.Client): Promise<void> => {
      log.push(`start ${a.id}`);
      await c.query('SELECT pg_sleep(0.3)');
      log.push(`end ${a.id}`);
    };
    const build = (id: string, objectKind: 'index' | 'constraint', lockMode?: 'shared' | 'attach'): Action =>
      ({
        kind: 'create_object',
        objectKind,
        id,
        address: id,
        dependsOn: [],
        locks: ['table public.t'],
        phase: 'post-data',
        change: 'create',
        reason: 'test',
        sql: ['SELECT 1'],
        definitionHash: 'x',
        ...(lockMode ? { lockMode } : {}),
      }) as Action;
    await execute(
      [
        build('idx1', 'index', 'shared'),
        build('pkey', 'constraint', 'attach'),
        build('idx2', 'index', 'shared'),
        build('uniq', 'constraint', 'attach'),
        build('fkey', 'constraint'),
      ],
      { concurrency: 5, openWorker, run: slow },
    );
    const i = (s: string): number => log.indexOf(s);
    const overlap = (a: string, b: string): boolean =>
      i(`start ${a}`) < i(`end ${b}`) && i(`start ${b}`) < i(`end ${a}`);
    // the CREATE INDEX (SHARE locks) and one primary key built as its index first: all at once
    expect(overlap('idx1', 'idx2') && overlap('idx1', 'pkey') && overlap('idx2', 'pkey')).toBe(true);
    // two attaching builds would each wait for the other's SHARE lock to take ACCESS EXCLUSIVE: never together
    expect(overlap('pkey', 'uniq')).toBe(false);
    // ALTER TABLE ... ADD CONSTRAINT with its definition holds the table alone
    for (const other of ['idx1', 'idx2', 'pkey', 'uniq']) expect(overlap('fkey', other)).toBe(false);
  });

  it('starts no other holder of a table while its attaching build waits to attach', async () => {
    const log: string[] = [];
    const build = (id: string, lockMode: 'shared' | 'attach', dependsOn: string[] = []): Action =>
      lockedBuild(id, 't', lockMode, dependsOn);
    const sleep = { gate: 0.6, idx1: 1.2, idx2: 0.1 } as Record<string, number>;
    await execute(
      [
        action('gate', 'SELECT 1', [], [], 'post-data'),
        build('idx1', 'shared'),
        build('pkey', 'attach'),
        build('idx2', 'shared', ['gate']),
      ],
      {
        concurrency: 4,
        openWorker,
        run: async (a, c, hooks) => {
          log.push(`start ${a.id}`);
          if (a.id === 'pkey') {
            // its index is built at 0.1 s; then it waits (here: 1 s) for idx1's SHARE lock to go
            await c.query('SELECT pg_sleep(0.1)');
            hooks.attachPending();
            await c.query('SELECT pg_sleep(1.0)');
          } else await c.query('SELECT pg_sleep($1)', [sleep[a.id]]);
          log.push(`end ${a.id}`);
        },
      },
    );
    const i = (s: string): number => log.indexOf(s);
    // idx1 and the primary key build side by side
    expect(i('start pkey')).toBeLessThan(i('end idx1'));
    // idx2 became ready (at 0.6 s) while the primary key waited to attach: it started only once that was done
    expect(i('start idx2'), log.join(', ')).toBeGreaterThan(i('end pkey'));
  });

  it('lends the slot of a primary key waiting to attach to another table (spare 1)', async () => {
    const log: string[] = [];
    const build = (id: string, table: string, lockMode: 'shared' | 'attach'): Action =>
      lockedBuild(id, table, lockMode);
    const run = async (a: Action, c: pg.Client, hooks: { attachPending(): void }): Promise<void> => {
      log.push(`start ${a.id}`);
      if (a.id === 'pkey') {
        await c.query('SELECT pg_sleep(0.1)');
        hooks.attachPending();
        await c.query('SELECT pg_sleep(1.0)');
      } else await c.query('SELECT pg_sleep($1)', [a.id === 'idx1' ? 1.2 : 0.2]);
      log.push(`end ${a.id}`);
    };
    const actions = [build('idx1', 't', 'shared'), build('pkey', 't', 'attach'), build('other', 'u', 'shared')];
    await execute(actions, { concurrency: 2, spare: 1, openWorker, run });
    // two slots: idx1 and the primary key; the other table's build starts in the slot the waiting key lends
    expect(log.indexOf('start other'), log.join(', ')).toBeLessThan(log.indexOf('end pkey'));
    expect(log.indexOf('start other')).toBeLessThan(log.indexOf('end idx1'));
    // without a spare the third action waits for a slot
    log.length = 0;
    await execute(actions, { concurrency: 2, openWorker, run });
    expect(log.indexOf('start other'), log.join(', ')).toBeGreaterThan(log.indexOf('end pkey'));
  });

  it('runs real primary key, unique and index builds of one table side by side without a deadlock', async () => {
    await withPg(dbs.targetUrl, async (c) => {
      await c.query('DROP TABLE IF EXISTS public."bu""ilds"');
      await c.query('CREATE TABLE public."bu""ilds" (id bigint NOT NULL, u text NOT NULL, a int, b int)');
      await c.query(
        `INSERT INTO public."bu""ilds" SELECT g, md5(g::text), g % 1000, g % 7 FROM generate_series(1, 300000) g`,
      );
    });
    const t = 'public."bu""ilds"';
    const events: ExecutorEvent[] = [];
    const build = (id: string, sql: string[], lockMode?: 'shared' | 'attach'): Action =>
      ({
        kind: 'create_object',
        objectKind: lockMode === 'shared' ? 'index' : 'constraint',
        id,
        address: id,
        dependsOn: [],
        locks: ['table public.bu"ilds'],
        phase: 'post-data',
        change: 'create',
        reason: 'test',
        sql,
        definitionHash: 'x',
        ...(lockMode ? { lockMode } : {}),
      }) as Action;
    const result = await execute(
      [
        build(
          'pkey',
          [
            `CREATE UNIQUE INDEX "bu""ilds_pkey" ON ${t} USING btree (id)`,
            `ALTER TABLE ${t} ADD CONSTRAINT "bu""ilds_pkey" PRIMARY KEY USING INDEX "bu""ilds_pkey"`,
          ],
          'attach',
        ),
        build(
          'uniq',
          [
            `CREATE UNIQUE INDEX "bu""ilds_u_key" ON ${t} USING btree (u)`,
            `ALTER TABLE ${t} ADD CONSTRAINT "bu""ilds_u_key" UNIQUE USING INDEX "bu""ilds_u_key"`,
          ],
          'attach',
        ),
        build('idx_a', [`CREATE INDEX "bu""ilds_a" ON ${t} (a, u)`], 'shared'),
        build('idx_b', [`CREATE INDEX "bu""ilds_b" ON ${t} (b)`], 'shared'),
        build('check', [`ALTER TABLE ${t} ADD CONSTRAINT "bu""ilds_a_check" CHECK (a >= 0)`]),
      ],
      {
        concurrency: 4,
        openWorker,
        attempts: 1, // a deadlock would fail its action here instead of being retried
        run: async (a, c) => {
          await c.query('BEGIN');
          for (const q of (a as Extract<Action, { kind: 'create_object' }>).sql) await c.query(q);
          await c.query('COMMIT');
        },
        onEvent: (e) => events.push(e),
      },
    );
    expect(result.failed).toEqual([]);
    expect([...result.done].sort()).toEqual(['check', 'idx_a', 'idx_b', 'pkey', 'uniq']);
    // the primary key's build started before the first index build ended
    const at = (type: string, id: string): number =>
      events.findIndex((e) => e.type === type && 'action' in e && e.action.id === id);
    expect(at('action-start', 'pkey')).toBeLessThan(Math.min(at('action-done', 'idx_a'), at('action-done', 'idx_b')));
    await withPg(dbs.targetUrl, async (c) => {
      const r = await c.query<{ conname: string; contype: string }>(
        `SELECT conname, contype FROM pg_catalog.pg_constraint WHERE conrelid = 'public."bu""ilds"'::regclass ORDER BY conname`,
      );
      expect(r.rows).toEqual([
        { conname: 'bu"ilds_a_check', contype: 'c' },
        { conname: 'bu"ilds_pkey', contype: 'p' },
        { conname: 'bu"ilds_u_key', contype: 'u' },
      ]);
    });
  });

  it('stops scheduling on abort: running actions finish, the rest is not started', async () => {
    const controller = new AbortController();
    const actions = Array.from({ length: 10 }, (_, k) => action(`s${k}`, 'SELECT pg_sleep(0.1)'));
    const result = await execute(actions, {
      concurrency: 2,
      openWorker,
      run: async (a, c) => {
        await run(a, c);
        if (a.id === 's1') controller.abort();
      },
      signal: controller.signal,
    });
    expect(result.interrupted).toBe(true);
    expect(result.done.length).toBeGreaterThanOrEqual(2);
    expect(result.done.length + result.notStarted.length).toBe(10);
    expect(result.notStarted.length).toBeGreaterThan(0);
  });
  it('starts the longest chain first: the index builds of a large table before the copy of a small one', async () => {
    const copy = (id: string, rows: number): Action =>
      ({
        kind: 'copy_table',
        id,
        address: id,
        dependsOn: [],
        locks: [`table public.${id}`],
        phase: 'data',
        change: 'create',
        reason: 'test',
        table: { schema: 'public', name: id },
        columns: ['id'],
        key: null,
        batchSize: 1000,
        format: 'binary',
        estimatedRows: rows,
        estimatedBytes: rows * 100,
      }) as Action;
    const build = (id: string, table: string): Action =>
      ({
        kind: 'create_object',
        objectKind: 'index',
        id,
        address: id,
        dependsOn: [table],
        locks: [`table public.${table}`],
        phase: 'post-data',
        change: 'create',
        reason: 'test',
        sql: [],
        definitionHash: 'x',
      }) as Action;
    const order: string[] = [];
    const result = await execute(
      // in plan order the small table comes first; one slot, so the order of starts is the executor's choice
      [
        copy('small', 10_000),
        build('small_idx', 'small'),
        copy('big', 3_000_000),
        build('big_a', 'big'),
        build('big_b', 'big'),
      ],
      {
        concurrency: 1,
        openWorker,
        run: async (a) => void order.push(a.id),
      },
    );
    expect(result.failed).toEqual([]);
    expect(order.slice(0, 3)).toEqual(['big', 'big_a', 'big_b']);
    expect(order.slice(3)).toEqual(['small', 'small_idx']);
  });
});
