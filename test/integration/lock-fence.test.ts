/**
 * The lock fence of every action kind, against a real target: an apply whose lock was released (`pgshift unlock`)
 * or taken over by another run creates no index, constraint or sequence value, sets no sequence and stores no
 * verification; the executor then starts nothing more. With the lock held the same actions run.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute } from '../../src/apply/executor.js';
import { runAction, type RunContext } from '../../src/apply/handlers/index.js';
import type { CreateObjectAction, SetSequenceValueAction, VerifyAction } from '../../src/plan/model.js';
import { stateDb } from '../../src/state/db.js';
import { acquireLock, assertLockHeld, forceUnlock, readLockHolder, type LockHandle } from '../../src/state/lock.js';
import { migrateState } from '../../src/state/migrations.js';
import type { VerifyReport } from '../../src/verify/report.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

let dbs: FreshDatabases;
const clients: pg.Client[] = [];

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: dbs.targetUrl });
  await c.connect();
  c.on('error', () => undefined); // a session ended by unlock
  clients.push(c);
  return c;
}

beforeAll(async () => {
  dbs = await freshDatabases('lock_fence');
  await withPg(dbs.targetUrl, async (c) => {
    await migrateState(stateDb(c));
    await c.query(`CREATE SCHEMA clinic;
      CREATE TABLE clinic.visits (id bigint NOT NULL, patient text NOT NULL);
      CREATE SEQUENCE clinic.visits_id_seq;
      INSERT INTO clinic.visits SELECT g, 'p' || g FROM generate_series(1, 100) g`);
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await dbs?.drop();
});

const base = { dependsOn: [], change: 'create', reason: 'test', locks: [] } as const;
const createIndex = (name: string): CreateObjectAction => ({
  ...base,
  kind: 'create_object',
  id: `index clinic.${name}`,
  address: `index clinic.${name}`,
  phase: 'post-data',
  objectKind: 'index',
  sql: [`CREATE INDEX ${name} ON clinic.visits (patient)`],
  definitionHash: 'h',
});
const addKey: CreateObjectAction = {
  ...base,
  kind: 'create_object',
  id: 'constraint clinic.visits.visits_pkey',
  address: 'constraint clinic.visits.visits_pkey',
  phase: 'post-data',
  objectKind: 'constraint',
  sql: ['ALTER TABLE clinic.visits ADD CONSTRAINT visits_pkey PRIMARY KEY (id)'],
  definitionHash: 'h',
};
const setSeq: SetSequenceValueAction = {
  ...base,
  kind: 'set_sequence_value',
  id: 'sequence_value clinic.visits_id_seq',
  address: 'sequence_value clinic.visits_id_seq',
  phase: 'post-data',
  sql: [`SELECT pg_catalog.setval('clinic.visits_id_seq', 100, true)`],
};
const verify: VerifyAction = {
  ...base,
  kind: 'verify',
  id: 'verify',
  address: 'verify',
  phase: 'post-data',
  checksums: 'full',
};

async function backendPid(c: pg.Client): Promise<number> {
  return (await c.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]?.p ?? 0;
}

async function targetState(): Promise<{ indexes: string[]; constraints: string[]; seq: string; objects: string[] }> {
  return withPg(dbs.targetUrl, async (c) => ({
    indexes: (
      await c.query<{ n: string }>(`SELECT indexname AS n FROM pg_indexes WHERE schemaname = 'clinic' ORDER BY 1`)
    ).rows.map((r) => r.n),
    constraints: (
      await c.query<{ n: string }>(
        `SELECT conname AS n FROM pg_constraint WHERE conrelid = 'clinic.visits'::regclass ORDER BY 1`,
      )
    ).rows.map((r) => r.n),
    seq:
      (
        await c.query<{ v: string }>(
          "SELECT last_value::text || (CASE WHEN is_called THEN '+' ELSE '' END) AS v FROM clinic.visits_id_seq",
        )
      ).rows[0]?.v ?? '?',
    objects: (await c.query<{ a: string }>('SELECT address AS a FROM pgshift.objects ORDER BY 1')).rows.map((r) => r.a),
  }));
}

describe('the lock fence', () => {
  let verified = 0;
  const ctxFor = (lockId: string): RunContext => ({
    runId: 'fence-test',
    lockId,
    verify: async () => {
      verified++;
      return { ok: true, summary: { tablesWithDifferences: 0, schemaDifferences: 0 } } as unknown as VerifyReport;
    },
  });

  it('lets every action kind run while the run holds the lock, and refuses each one once `unlock` released it', async () => {
    const control = await connect();
    const lock: LockHandle = await acquireLock(control, {
      runId: 'fence-test',
      command: 'apply',
      operator: 'test',
      host: 'here',
    });
    const worker = await connect();
    await runAction(createIndex('visits_held_idx'), worker, ctxFor(lock.lockId));
    await runAction(verify, worker, ctxFor(lock.lockId));
    expect(verified).toBe(1);
    expect((await targetState()).objects).toEqual(['index clinic.visits_held_idx']);

    // `pgshift unlock` from another machine: the holder's session ends, its row goes
    const released = await withPg(dbs.targetUrl, (c) => forceUnlock(c, lock.lockId));
    expect(released.terminated).toBe(true);
    const before = await targetState();
    for (const a of [createIndex('visits_patient_idx'), addKey, setSeq, verify]) {
      const err = await runAction(a, worker, ctxFor(lock.lockId)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, a.address).toMatchObject({ code: 'LOCK_HELD' });
      expect((err as Error).message).toContain(`${a.address}: this run no longer holds the target's lock`);
    }
    expect(verified).toBe(1);
    expect(await targetState()).toEqual(before);
    expect(before.seq).toBe('1'); // never set
  });

  it('refuses once another run took the lock over, and the executor then starts nothing more', async () => {
    const control = await connect();
    const lock = await acquireLock(control, { runId: 'fence-test', command: 'apply', operator: 'test', host: 'here' });
    const holderPid = await backendPid(control);
    const before = await targetState();
    let other: LockHandle | undefined;
    const otherSession = await connect();
    const ran: string[] = [];
    const result = await execute(
      [createIndex('visits_first_idx'), addKey, setSeq, verify].map((a, i, all) => ({
        ...a,
        dependsOn: i > 0 ? [all[i - 1]?.id as string] : [],
      })),
      {
        concurrency: 1,
        openWorker: connect,
        run: async (a, c) => {
          ran.push(a.id);
          await runAction(a, c, ctxFor(lock.lockId));
          if (a.id === 'index clinic.visits_first_idx') {
            // mid-apply: the holder's session dies and a second apply takes the lock over
            await withPg(dbs.targetUrl, (k) => k.query('SELECT pg_terminate_backend($1)', [holderPid]));
            for (let i = 0; i < 50 && !other; i++) {
              other = await acquireLock(otherSession, {
                runId: 'other',
                command: 'apply',
                operator: 'test',
                host: 'there',
              }).catch(async () => {
                await new Promise((r) => setTimeout(r, 100));
                return undefined;
              });
            }
          }
        },
        attempts: 1,
      },
    );
    expect(other, 'the second run never got the lock').toBeDefined();
    expect(result.done).toEqual(['index clinic.visits_first_idx']);
    expect(result.failed).toEqual([
      {
        id: addKey.id,
        code: 'LOCK_HELD',
        message: expect.stringContaining('no longer holds the target') as unknown as string,
      },
    ]);
    expect(ran).toEqual(['index clinic.visits_first_idx', addKey.id]);
    const after = await targetState();
    expect(after.constraints).toEqual(before.constraints); // no primary key added
    expect(after.seq).toBe(before.seq);
    expect(after.indexes).toEqual([...before.indexes, 'visits_first_idx'].sort());
    await other?.release();
  });

  it("keeps the holder row for the action's transaction: a run taking a dead holder's lock over waits for it to commit", async () => {
    const control = await connect();
    const lock = await acquireLock(control, { runId: 'fence-test', command: 'apply', operator: 'test', host: 'here' });
    const holderPid = await backendPid(control);
    const worker = await connect();
    await worker.query('BEGIN');
    await assertLockHeld(worker, lock.lockId, 'test');
    await withPg(dbs.targetUrl, (k) => k.query('SELECT pg_terminate_backend($1)', [holderPid]));
    const taker = await connect();
    // the holder's session is gone (its advisory lock with it), but its row stays as the worker's fence left it
    for (let i = 0; i < 100 && (await readLockHolder(taker))?.alive !== false; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect((await readLockHolder(taker))?.alive).toBe(false);
    let took = false;
    const taking = acquireLock(taker, { runId: 'other', command: 'apply', operator: 'test', host: 'there' }).then(
      (h) => {
        took = true;
        return h;
      },
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(took).toBe(false);
    await worker.query('COMMIT');
    const h = await taking;
    expect(took).toBe(true);
    await h.release();
  });
});
