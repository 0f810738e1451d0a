/**
 * Exactly once across kill -9: a child process running follow() is SIGKILLed five times (three at random moments, two between a target commit and its confirmation) while a
 * writer increments counters on the source (each increment also appends a row to a keyless table). After a final run
 * to the end: the counters are equal on both sides (nothing lost), the keyless table holds each appended row once
 * and an ALWAYS trigger on the target counted exactly one application per source update (nothing applied twice),
 * and the slot's confirmed_flush_lsn equals the stored applied position.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION } from '../../src/db/connect.js';
import { follow, type FollowTable } from '../../src/stream/follow.js';
import { expectSameData } from '../support/compare.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';
import { copyInSnapshot, currentLsn, positions, setupStream, type StreamFixture } from '../support/stream.js';

const DDL = `
CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL);
CREATE TABLE events (counter int, n bigint);
`;
const TARGET_EXTRA = `
CREATE TABLE applications (c bigint NOT NULL);
INSERT INTO applications VALUES (0);
CREATE FUNCTION count_application() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE applications SET c = c + 1; RETURN NULL; END $$;
CREATE TRIGGER count_application AFTER INSERT OR UPDATE ON counters FOR EACH ROW EXECUTE FUNCTION count_application();
ALTER TABLE counters ENABLE ALWAYS TRIGGER count_application;
`;
const TABLES: FollowTable[] = [
  { source: { schema: 'public', name: 'counters' }, target: { schema: 'public', name: 'counters' }, key: ['id'] },
  { source: { schema: 'public', name: 'events' }, target: { schema: 'public', name: 'events' }, key: null },
];

let dbs: FreshDatabases;
let fx: StreamFixture;

beforeAll(async () => {
  dbs = await freshDatabases('stream exactly once');
  await withPg(dbs.sourceUrl, (c) => c.query(`${DDL} INSERT INTO counters SELECT g, 0 FROM generate_series(1, 20) g;`));
  await withPg(dbs.targetUrl, (c) => c.query(DDL));
  fx = await setupStream(dbs, ['counters', 'events']);
  await copyInSnapshot(dbs, [
    { schema: 'public', name: 'counters', sql: 'counters', columns: 'id, n' },
    { schema: 'public', name: 'events', sql: 'events', columns: 'counter, n' },
  ]);
  await withPg(dbs.targetUrl, (c) => c.query(TARGET_EXTRA));
});

afterAll(async () => {
  await fx?.drop();
  await dbs?.drop();
});

function startWriter(url: string): { stop(): Promise<number> } {
  let running = true;
  let acked = 0;
  const client = new pg.Client({ connectionString: url });
  const loop = (async () => {
    await client.connect();
    for (let i = 0; running; i++) {
      const id = 1 + ((i * 7) % 20);
      await client.query('BEGIN');
      const r = await client.query<{ n: string }>('UPDATE counters SET n = n + 1 WHERE id = $1 RETURNING n', [id]);
      await client.query('INSERT INTO events VALUES ($1, $2)', [id, r.rows[0]?.n]);
      await client.query('COMMIT');
      acked += 1;
      await new Promise((res) => setTimeout(res, 3));
    }
    await client.end();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return acked;
    },
  };
}

/**
 * Runs the child until it has committed at least once, then a random while longer, then SIGKILLs it; or, with
 * `afterCommit`, lets it kill itself right after its n-th target commit, before it confirms that to the slot.
 */
async function runAndKill(afterCommit?: number): Promise<void> {
  const settings = {
    sourceUrl: dbs.sourceUrl,
    targetUrl: dbs.targetUrl,
    slot: fx.slot,
    publications: [fx.publication],
    tables: TABLES,
    maxBatchChanges: 10,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/stream-follow-main.ts'], {
    env: {
      ...process.env,
      PGSHIFT_FOLLOW: JSON.stringify(settings),
      ...(afterCommit ? { PGSHIFT_FAULT_KILL: `stream:committed:${afterCommit}` } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  if (afterCommit) {
    const code = await exited;
    expect(code, stderr).toBe(null); // killed by its signal, not exited
    return;
  }
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('PROGRESS')) resolve();
    });
    void exited.then((code) => reject(new Error(`follow child exited (${code}) before any progress: ${stderr}`)));
  });
  await new Promise((res) => setTimeout(res, 50 + Math.floor(Math.random() * 700)));
  child.kill('SIGKILL');
  await exited;
}

describe('follow, exactly once', () => {
  it('loses nothing and applies nothing twice across five SIGKILLs', { timeout: 240_000 }, async () => {
    const writer = startWriter(dbs.sourceUrl);
    // random moments, and twice right between a target commit and its confirmation (the slot resends that group)
    for (const afterCommit of [undefined, 3, undefined, 1, undefined]) await runAndKill(afterCommit);
    const acked = await writer.stop();
    const until = await currentLsn(dbs.sourceUrl);
    const r = await follow({
      source: fx.source,
      target: fx.target,
      settings: DEFAULT_SESSION,
      slot: fx.slot,
      publications: [fx.publication],
      tables: TABLES,
      untilLsn: until,
    });
    expect(r.stoppedBy).toBe('until');
    // the killed runs did part of the work: the last one did not start from the beginning
    expect(r.transactions).toBeLessThan(acked);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl, { ignoreTargetOnly: true });
    const counts = await withPg(dbs.targetUrl, async (c) => {
      const e = await c.query<{ n: string; d: string }>(
        'SELECT count(*) AS n, count(DISTINCT (counter, n)) AS d FROM events',
      );
      const a = await c.query<{ c: string }>('SELECT c FROM applications');
      return { events: Number(e.rows[0]?.n), distinct: Number(e.rows[0]?.d), applications: Number(a.rows[0]?.c) };
    });
    expect(counts).toEqual({ events: acked, distinct: acked, applications: acked });
    const p = await positions(dbs, fx.slot);
    expect(p.confirmed).toBe(p.applied);
    expect(p.applied).toBe(r.appliedLsn);
  });
});
