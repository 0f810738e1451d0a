/**
 * src/stream/readiness.ts and identity.ts on a real source: a role without REPLICATION is not ready (and is told the
 * ALTER ROLE), one with it is; the in-scope tables lacking a usable replica identity (keyless, identity nothing,
 * keyless leaf partitions) come with their statement; FULL is set with the old identity recorded in the target's
 * state, and put back from it (nothing, default, an identity index).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateDb } from '../../src/state/db.js';
import { migrateState } from '../../src/state/migrations.js';
import { readReplicaIdentities } from '../../src/state/stream.js';
import { restoreReplicaIdentities, setReplicaIdentityFull, tablesLackingIdentity } from '../../src/stream/identity.js';
import { streamReadiness } from '../../src/stream/readiness.js';
import { freshDatabases, quoteIdent, withPg, type FreshDatabases } from '../support/databases.js';

let dbs: FreshDatabases;
let role: string;

const DDL = `
CREATE TABLE public.keyed (id int PRIMARY KEY, v text);
CREATE TABLE public.keyless (v text);
CREATE TABLE public.nothing (id int PRIMARY KEY, v text);
ALTER TABLE public.nothing REPLICA IDENTITY NOTHING;
CREATE TABLE public.by_index (code text NOT NULL, v text);
CREATE UNIQUE INDEX by_index_code ON public.by_index (code);
ALTER TABLE public.by_index REPLICA IDENTITY USING INDEX by_index_code;
CREATE TABLE public.readings (at date, v text) PARTITION BY RANGE (at);
CREATE TABLE public.readings_2024 PARTITION OF public.readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE public.out_of_scope (v text);
CREATE UNLOGGED TABLE public.cache (k text PRIMARY KEY);
`;
const SCOPE = ['keyed', 'keyless', 'nothing', 'by_index', 'readings', 'readings_2024'].map((name) => ({
  schema: 'public',
  name,
}));

async function identities(): Promise<Record<string, string>> {
  return withPg(dbs.sourceUrl, async (c) => {
    const r = await c.query<{ relname: string; relreplident: string }>(
      `SELECT relname, relreplident FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1`,
    );
    return Object.fromEntries(r.rows.map((x) => [x.relname, x.relreplident]));
  });
}

beforeAll(async () => {
  dbs = await freshDatabases('stream_ready');
  role = `${dbs.name}_app`;
  await withPg(dbs.sourceUrl, (c) =>
    c.query(
      `${DDL}; CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD 'pw'; GRANT ALL ON SCHEMA public TO ${quoteIdent(role)}`,
    ),
  );
  await withPg(dbs.targetUrl, (c) => migrateState(stateDb(c)));
});

afterAll(async () => {
  await dbs?.drop();
  if (role) await withPg(dbs.sourceAdminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`));
});

describe('streamReadiness', () => {
  it('a role without REPLICATION is not ready and is told the ALTER ROLE; with it, it is', async () => {
    const url = new URL(dbs.sourceUrl);
    url.username = role;
    url.password = 'pw';
    const before = await withPg(url.toString(), (c) => streamReadiness(c));
    expect(before.ok).toBe(false);
    expect(before.reasons).toEqual([expect.stringContaining(`ALTER ROLE ${role} REPLICATION`)]);
    await withPg(dbs.sourceUrl, (c) => c.query(`ALTER ROLE ${quoteIdent(role)} REPLICATION`));
    const after = await withPg(url.toString(), (c) => streamReadiness(c));
    expect(after).toMatchObject({ ok: true, reasons: [] });
    expect(after.facts).toMatchObject({ walLevel: 'logical', canReplicate: true, role });
    // the tables belong to another role: CREATE PUBLICATION would be refused
    const scoped = await withPg(url.toString(), (c) => streamReadiness(c, { tables: SCOPE.slice(0, 2) }));
    expect(scoped.ok).toBe(false);
    expect(scoped.reasons).toEqual([
      expect.stringContaining(`role ${role} does not own 2 table(s) in scope (public.keyed, public.keyless)`),
    ]);
  });

  it('lists the in-scope tables lacking a usable identity with their statement', async () => {
    const r = await withPg(dbs.sourceUrl, (c) => streamReadiness(c, { tables: SCOPE }));
    expect(r.tablesNeedingIdentity).toEqual([
      {
        schema: 'public',
        name: 'keyless',
        identity: 'd',
        statement: 'ALTER TABLE "public"."keyless" REPLICA IDENTITY FULL',
      },
      {
        schema: 'public',
        name: 'nothing',
        identity: 'n',
        statement: 'ALTER TABLE "public"."nothing" REPLICA IDENTITY FULL',
      },
      {
        schema: 'public',
        name: 'readings_2024',
        identity: 'd',
        statement: 'ALTER TABLE "public"."readings_2024" REPLICA IDENTITY FULL',
      },
    ]);
    expect(r.unpublishable).toEqual([]);
    const withCache = await withPg(dbs.sourceUrl, (c) =>
      streamReadiness(c, { tables: [...SCOPE, { schema: 'public', name: 'cache' }] }),
    );
    expect(withCache.unpublishable).toEqual([{ schema: 'public', name: 'cache', reason: 'unlogged' }]);
    const gaps = await withPg(dbs.sourceUrl, (c) => tablesLackingIdentity(c, [{ schema: 'public', name: 'readings' }]));
    expect(gaps).toEqual([
      expect.objectContaining({ name: 'readings_2024', root: { schema: 'public', name: 'readings' } }),
    ]);
  });
});

describe('replica identity FULL and back', () => {
  it('sets FULL recording the old identity, and restores default, nothing and the identity index', async () => {
    await withPg(dbs.sourceUrl, (c) => c.query('ALTER TABLE public.by_index REPLICA IDENTITY FULL'));
    await withPg(dbs.sourceUrl, (c) =>
      c.query('ALTER TABLE public.by_index REPLICA IDENTITY USING INDEX by_index_code'),
    );
    const tables = ['keyless', 'nothing', 'by_index'].map((name) => ({ schema: 'public', name }));
    await withPg(dbs.sourceUrl, (source) =>
      withPg(dbs.targetUrl, async (state) => {
        await setReplicaIdentityFull(source, state, tables);
        await setReplicaIdentityFull(source, state, tables); // a re-run keeps the first record
        expect(await readReplicaIdentities(state)).toEqual([
          { schema: 'public', name: 'by_index', oldIdentity: 'i', oldIndex: 'by_index_code' },
          { schema: 'public', name: 'keyless', oldIdentity: 'd', oldIndex: null },
          { schema: 'public', name: 'nothing', oldIdentity: 'n', oldIndex: null },
        ]);
      }),
    );
    expect(await identities()).toMatchObject({ keyless: 'f', nothing: 'f', by_index: 'f', keyed: 'd' });
    // updates and deletes of a keyless table need a key or FULL once published: now it has FULL
    expect(await withPg(dbs.sourceUrl, (c) => tablesLackingIdentity(c, SCOPE))).toEqual([
      expect.objectContaining({ name: 'readings_2024' }),
    ]);
    const restored = await withPg(dbs.sourceUrl, (source) =>
      withPg(dbs.targetUrl, (state) => restoreReplicaIdentities(source, state)),
    );
    expect(restored.map((r) => `${r.name}: ${r.from} -> ${r.to}`)).toEqual([
      'by_index: f -> i',
      'keyless: f -> d',
      'nothing: f -> n',
    ]);
    expect(await identities()).toMatchObject({ keyless: 'd', nothing: 'n', by_index: 'i', out_of_scope: 'd' });
    const idx = await withPg(dbs.sourceUrl, (c) =>
      c.query(`SELECT indisreplident FROM pg_index WHERE indexrelid = 'public.by_index_code'::regclass`),
    );
    expect(idx.rows[0]).toEqual({ indisreplident: true });
    expect(await withPg(dbs.targetUrl, (state) => readReplicaIdentities(state))).toEqual([]);
  });
});
