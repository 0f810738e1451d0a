/**
 * src/stream/slot.ts on a real source: createStream makes the publications (exact table lists, the inserts-only one
 * only when a table needs it) and a pgoutput slot whose consistent LSN it returns; re-creating is idempotent; a
 * transaction already running blocks the slot and the error names its backend but never its query text; dropStream
 * refuses a slot read by someone else, ends pgshift's own reader, and leaves nothing behind.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgshiftError } from '../../src/errors/index.js';
import {
  createStream,
  dropStream,
  setPublishedTables,
  slotStatus,
  streamNames,
  type PublishedTable,
  type StreamNames,
} from '../../src/stream/slot.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';
import { readSlotActively } from '../support/slot-reader.js';

let dbs: FreshDatabases;
let source: pg.Client;
let names: StreamNames;

const ALL: PublishedTable[] = [
  { schema: 'public', name: 'patients', mode: 'all' },
  { schema: 'odd "schema"', name: 'Visits', mode: 'all' },
];

async function published(): Promise<Record<string, string[]>> {
  const r = await source.query<{ pubname: string; t: string }>(
    `SELECT pubname, schemaname || '.' || tablename AS t FROM pg_publication_tables
      WHERE pubname IN ($1, $2) ORDER BY 1, 2`,
    [names.publication, names.insertsPublication],
  );
  const out: Record<string, string[]> = {};
  for (const row of r.rows) (out[row.pubname] ??= []).push(row.t);
  return out;
}

async function pgshiftObjects(): Promise<{ slots: number; publications: number }> {
  const r = await source.query<{ slots: number; publications: number }>(
    `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1)::int AS slots,
            (SELECT count(*) FROM pg_publication WHERE pubname IN ($1, $2))::int AS publications`,
    [names.slot, names.insertsPublication],
  );
  return r.rows[0] as { slots: number; publications: number };
}

beforeAll(async () => {
  dbs = await freshDatabases('stream_slot');
  names = streamNames(`${dbs.name} clinic`);
  await withPg(dbs.sourceUrl, (c) =>
    c.query(`
      CREATE TABLE public.patients (id int PRIMARY KEY, mrn text);
      CREATE SCHEMA "odd ""schema""";
      CREATE TABLE "odd ""schema"""."Visits" (id int PRIMARY KEY, at date);
      CREATE TABLE public.log (line text);
      CREATE TABLE public.base (a int PRIMARY KEY); CREATE TABLE public.child (b int) INHERITS (public.base);
      ALTER TABLE public.child ADD PRIMARY KEY (a);
      CREATE TABLE public.readings (id int, at int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE public.readings_1 PARTITION OF public.readings FOR VALUES FROM (0) TO (10);`),
  );
  source = new pg.Client({ connectionString: dbs.sourceUrl });
  await source.connect();
});

afterAll(async () => {
  if (source) {
    await dropStream(source, names).catch(() => undefined);
    await source.end();
  }
  await dbs?.drop();
});

describe('streamNames', () => {
  it('is a valid slot name of at most 63 bytes, stable per migration, different between migrations', () => {
    const long = streamNames(`Clinic "Prod" ${'x'.repeat(200)} ünïcode`);
    for (const n of [names, long, streamNames('')]) {
      expect(n.slot).toMatch(/^pgshift_[a-z0-9_]+_[0-9a-f]{6}$/);
      expect(Buffer.byteLength(n.insertsPublication)).toBeLessThanOrEqual(63);
      expect(n.publication).toBe(n.slot);
    }
    expect(streamNames('clinic')).toEqual(streamNames('clinic'));
    expect(streamNames('clinic').slot).not.toBe(streamNames('Clinic').slot);
  });
});

describe('createStream / setPublishedTables / slotStatus / dropStream', () => {
  it('creates the publication and a pgoutput slot at the consistent LSN it returns', async () => {
    const { consistentLsn } = await createStream(source, names, ALL, { waitMs: 120_000 });
    const slot = await source.query(
      `SELECT plugin, slot_type, database, confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`,
      [names.slot],
    );
    expect(slot.rows[0]).toEqual({ plugin: 'pgoutput', slot_type: 'logical', database: dbs.name, lsn: consistentLsn });
    expect(await published()).toEqual({ [names.publication]: ['odd "schema".Visits', 'public.patients'] });
    const pub = await source.query(
      'SELECT pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot FROM pg_publication WHERE pubname = $1',
      [names.publication],
    );
    expect(pub.rows[0]).toEqual({
      pubinsert: true,
      pubupdate: true,
      pubdelete: true,
      pubtruncate: true,
      pubviaroot: true,
    });
    const st = await slotStatus(source, names.slot);
    expect(st).toMatchObject({ exists: true, active: false, activePid: null, confirmedFlushLsn: consistentLsn });
    expect(st.retainedBytes).toBeGreaterThanOrEqual(0);
    expect(st.walStatus).toMatch(/reserved|extended/);
  });

  it('re-creates an inactive stream of the same names with exactly the new table list', async () => {
    const before = await slotStatus(source, names.slot);
    await source.query(`INSERT INTO public.patients SELECT g, 'm' || g FROM generate_series(1, 100) g`);
    const tables: PublishedTable[] = [ALL[0] as PublishedTable, { schema: 'public', name: 'log', mode: 'inserts' }];
    const { consistentLsn } = await createStream(source, names, tables, { waitMs: 120_000 });
    expect(
      (await source.query(`SELECT $1::pg_lsn > $2::pg_lsn AS later`, [consistentLsn, before.confirmedFlushLsn]))
        .rows[0],
    ).toEqual({ later: true });
    expect(await published()).toEqual({
      [names.publication]: ['public.patients'],
      [names.insertsPublication]: ['public.log'],
    });
    const ins = await source.query(
      'SELECT pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = $1',
      [names.insertsPublication],
    );
    expect(ins.rows[0]).toEqual({ pubinsert: true, pubupdate: false, pubdelete: false, pubtruncate: true });
    // the keyless table is published for inserts only: the application may still update and delete it
    await source.query(`INSERT INTO public.log VALUES ('a'); UPDATE public.log SET line = 'b'; DELETE FROM public.log`);
  });

  it('an inheritance parent is published alone (ONLY), its children when listed; a partitioned table covers its partitions', async () => {
    const more: PublishedTable[] = [
      { schema: 'public', name: 'base', mode: 'all' },
      { schema: 'public', name: 'child', mode: 'all' },
      { schema: 'public', name: 'readings', mode: 'all' },
    ];
    await setPublishedTables(source, names, more.slice(0, 1));
    expect(await published()).toEqual({ [names.publication]: ['public.base'] });
    await setPublishedTables(source, names, more);
    // pg_publication_tables lists the root of a partitioned table published via its root
    expect(await published()).toEqual({ [names.publication]: ['public.base', 'public.child', 'public.readings'] });
  });

  it('setPublishedTables sets exactly the given lists, empty ones included', async () => {
    await setPublishedTables(source, names, ALL);
    expect(await published()).toEqual({ [names.publication]: ['odd "schema".Visits', 'public.patients'] });
    await setPublishedTables(source, names, [{ schema: 'public', name: 'patients', mode: 'inserts' }]);
    expect(await published()).toEqual({ [names.insertsPublication]: ['public.patients'] });
  });

  it('a transaction already running blocks the slot: the error names its backend, never its query', async () => {
    await dropStream(source, names);
    const blocker = new pg.Client({ connectionString: dbs.sourceUrl, application_name: 'clinic-api' });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`INSERT INTO public.patients VALUES (4711, 'MRN-SECRET-4711')`);
      const pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      // pgshift's sessions carry a bounded lock_timeout: it must not end the wait first with a bare 55P03
      await source.query(`SET lock_timeout = '300ms'`);
      const err = await createStream(source, names, ALL, { waitMs: 1500 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PgshiftError);
      const e = err as PgshiftError;
      expect(e.code).toBe('STREAM_SLOT_BLOCKED');
      expect(e.message).toContain(`pid ${pid} (`);
      expect(e.message).toContain('application "clinic-api"');
      expect(e.message).toContain('idle in transaction');
      expect(JSON.stringify(e.toJSON())).not.toMatch(/MRN-SECRET|INSERT|4711/);
      expect((await slotStatus(source, names.slot)).exists).toBe(false);
      expect((await source.query<{ lock_timeout: string }>('SHOW lock_timeout')).rows[0]?.lock_timeout).toBe('300ms');
      await source.query('RESET lock_timeout');
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    await createStream(source, names, ALL, { waitMs: 120_000 });
    expect((await slotStatus(source, names.slot)).exists).toBe(true);
  });

  it('dropStream refuses a slot someone else reads, ends a pgshift reader, and leaves nothing behind', async () => {
    const foreign = await readSlotActively(dbs.sourceUrl, names.slot, names.publication, 'someone-else');
    try {
      expect(await slotStatus(source, names.slot)).toMatchObject({ active: true, activePid: foreign.pid });
      const err = await dropStream(source, names).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'STREAM_SLOT_ACTIVE' });
      expect((err as Error).message).toContain(`pid ${foreign.pid}`);
      const again = await createStream(source, names, ALL, { waitMs: 120_000 }).catch((e: unknown) => e);
      expect(again).toMatchObject({ code: 'STREAM_SLOT_ACTIVE' });
    } finally {
      await foreign.stop();
    }
    await withPg(dbs.sourceUrl, async (c) => {
      for (let i = 0; (await slotStatus(c, names.slot)).active && i < 300; i++)
        await new Promise((r) => setTimeout(r, 100));
    });
    const own = await readSlotActively(dbs.sourceUrl, names.slot, names.publication, 'pgshift follow');
    try {
      expect(await dropStream(source, names)).toEqual({ slot: true, publications: [names.publication] });
    } finally {
      await own.stop();
    }
    expect(await pgshiftObjects()).toEqual({ slots: 0, publications: 0 });
    expect(await dropStream(source, names)).toEqual({ slot: false, publications: [] });
  });
});
