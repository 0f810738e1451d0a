/**
 * The catalog layer against real servers: the all-kinds fixture (hostile names) is loaded into the source (15),
 * introspected, created on the target (17) from createSql in orderForCreate order after DDL_SESSION_SQL, and the
 * target's catalog must then equal the source's, address for address and definition for definition.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { introspect } from '../../src/catalog/introspect.js';
import { orderForCreate } from '../../src/catalog/order.js';
import { DDL_SESSION_SQL } from '../../src/catalog/session.js';
import type { Catalog, CatalogObject, ObjectKind } from '../../src/catalog/types.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';
import { fixturesDir } from '../support/fixtures.js';
import { manyTablesSql } from '../support/schemas.js';

const REPO = join(import.meta.dirname, '..', '..');
const FIXTURE = readFileSync(join(REPO, 'test', 'fixtures', 'catalog', 'all-kinds.sql'), 'utf8');

const ALL_KINDS: readonly ObjectKind[] = [
  'schema',
  'extension',
  'type',
  'function',
  'sequence',
  'table',
  'sequence_owner',
  'constraint',
  'index',
  'trigger',
  'view',
  'materialized_view',
  'policy',
  'rls',
  'comment',
  'sequence_value',
];

const catalogOf = (url: string, excludeSchemas?: readonly string[]): Promise<Catalog> =>
  withPg(url, (c) => introspect(c, excludeSchemas ? { excludeSchemas } : {}));

/** Runs DDL_SESSION_SQL, then every createSql in orderForCreate order; an error names the object and statement. */
async function createAll(client: pg.ClientBase, objects: readonly CatalogObject[]): Promise<void> {
  await client.query(DDL_SESSION_SQL);
  for (const o of orderForCreate(objects)) {
    for (const sql of o.createSql) {
      try {
        await client.query(sql);
      } catch (err) {
        throw new Error(`creating ${o.address} failed: ${(err as Error).message}\n${sql}`, { cause: err });
      }
    }
  }
}

/** Every address and definition that differs, with both sides, for a readable failure. */
function differences(a: Catalog, b: Catalog): string[] {
  const left = new Map(a.objects.map((o) => [o.address, o.definition]));
  const right = new Map(b.objects.map((o) => [o.address, o.definition]));
  const out: string[] = [];
  for (const [address, def] of left) {
    if (!right.has(address)) out.push(`only on the source: ${address}`);
    else if (right.get(address) !== def)
      out.push(`${address}\n--- source:\n${def}\n--- target:\n${right.get(address) ?? ''}`);
  }
  for (const address of right.keys()) if (!left.has(address)) out.push(`only on the target: ${address}`);
  return out;
}

function byAddress(c: Catalog, address: string): CatalogObject {
  const o = c.objects.find((x) => x.address === address);
  if (!o) throw new Error(`no object ${address}; have:\n${c.objects.map((x) => x.address).join('\n')}`);
  return o;
}

describe('catalog: all kinds, hostile names, 15 -> 17', () => {
  let dbs: FreshDatabases;
  let source: Catalog;
  let target: Catalog;

  beforeAll(async () => {
    dbs = await freshDatabases('catalog_all_kinds');
    await withPg(dbs.sourceUrl, (c) => c.query(FIXTURE));
    source = await catalogOf(dbs.sourceUrl);
    await withPg(dbs.targetUrl, (c) => createAll(c, source.objects));
    target = await catalogOf(dbs.targetUrl);
  });
  afterAll(async () => dbs?.drop());

  it('recreates every object on the target with an identical definition and fingerprint', () => {
    const diff = differences(source, target);
    expect(diff, diff.join('\n\n')).toEqual([]);
    expect(target.fingerprint).toBe(source.fingerprint);
    expect(source.serverVersionNum).toBeLessThan(160000);
    expect(target.serverVersionNum).toBeGreaterThanOrEqual(170000);
  });

  it('lists every kind of object', () => {
    const kinds = new Set(source.objects.map((o) => o.kind));
    expect([...ALL_KINDS].filter((k) => !kinds.has(k))).toEqual([]);
  });

  it('gives the same fingerprint when read twice, and freezes the catalog', async () => {
    const again = await catalogOf(dbs.sourceUrl);
    expect(again.fingerprint).toBe(source.fingerprint);
    expect(again.objects).toEqual(source.objects);
    expect(Object.isFrozen(source)).toBe(true);
    expect(Object.isFrozen(source.objects[0])).toBe(true);
    expect(Object.isFrozen(source.objects[0]?.createSql)).toBe(true);
    expect(Object.isFrozen(source.tables[0]?.columns[0])).toBe(true);
  });

  it('names objects by address, hostile names unquoted, overloads apart', () => {
    const addresses = source.objects.map((o) => o.address);
    for (const a of [
      'schema We"ird Schema',
      'schema app',
      'schema public',
      'extension pgcrypto',
      'type app.mood',
      'type app.positive_int',
      'type app.pair',
      'type app.floatrange',
      'function app.add(integer, integer)',
      'function app.add(numeric, numeric)',
      'function app.bump(integer, integer)',
      'function app.concat_all(text)',
      'function We"ird Schema.select(app.mood, integer)',
      'sequence app.ticket_seq',
      'sequence We"ird Schema.select_from_seq',
      'table We"ird Schema.select',
      'table We"ird Schema.MixedCase',
      'table We"ird Schema.1st_table',
      'table We"ird Schema.ünïcødé tåble',
      'table We"ird Schema.with space',
      'table We"ird Schema.a.b',
      'table app.events_2024_click',
      'sequence_owner We"ird Schema.select_from_seq',
      'constraint We"ird Schema.select.select_pkey',
      'constraint We"ird Schema.MixedCase.MixedCase_parent_fkey',
      'constraint app.orders.orders_qty_positive',
      'index We"ird Schema.select lower(Mixed Col)',
      'index app.mv_totals_customer_idx',
      'trigger app.orders.orders_audit',
      'trigger We"ird Schema.select.touch "me"',
      'view We"ird Schema.view of "select"',
      'materialized_view app.mv_totals',
      'policy app.patients.own_rows',
      'policy app.patients.not "deleted"',
      'rls app.patients',
      'sequence_value app.ticket_seq',
      'sequence_value We"ird Schema.MixedCase_id_seq',
      'comment schema We"ird Schema',
      'comment table We"ird Schema.select',
      'comment column We"ird Schema.select.Mixed Col',
      'comment column app.pair.Y label',
      'comment column app.order_totals.total',
      'comment function app.add(integer, integer)',
      'comment function app.bump(integer, integer)',
      'comment constraint We"ird Schema.select.check "me"',
      'comment view app.order_totals',
      'comment materialized_view app.mv_totals',
      'comment policy app.patients.own_rows',
      'comment trigger app.orders.orders_touch',
      'comment index app.docs_tsv_idx',
      'comment sequence app.ticket_seq',
      'comment type app.mood',
    ]) {
      expect(addresses, a).toContain(a);
    }
    // constraints a partition inherits, partition copies of indexes and FK triggers are not listed
    expect(addresses.filter((a) => /^constraint app\.events_/.test(a))).toEqual([]);
    expect(addresses.filter((a) => /^index app\.events_(2024|default)/.test(a))).toEqual([]);
    expect(addresses.filter((a) => a.startsWith('trigger app.events_'))).toEqual([]);
    expect(addresses.filter((a) => a.startsWith('trigger') && a.includes('RI_ConstraintTrigger'))).toEqual([]);
    // a range type's constructor functions come with CREATE TYPE
    expect(addresses.filter((a) => /^function app\.float(multi)?range\(/.test(a))).toEqual([]);
    // no identity sequence as an object of its own
    expect(addresses).not.toContain('sequence We"ird Schema.MixedCase_id_seq');
  });

  it('renders phases, createSql and definitions as specified', () => {
    const phase = (a: string): string => byAddress(source, a).phase;
    expect(phase('table app.orders')).toBe('pre-data');
    expect(phase('function app.touch()')).toBe('pre-data');
    expect(phase('constraint app.orders.orders_pkey')).toBe('post-data');
    expect(phase('view app.order_totals')).toBe('post-data');

    expect(byAddress(source, 'schema app').createSql).toEqual(['CREATE SCHEMA IF NOT EXISTS "app"']);
    expect(byAddress(source, 'extension pgcrypto').createSql).toEqual([
      'CREATE EXTENSION IF NOT EXISTS "pgcrypto" WITH SCHEMA "public"',
    ]);
    expect(byAddress(source, 'sequence_value app.ticket_seq')).toMatchObject({
      definition: 'last_value=165 is_called=t',
      createSql: [`SELECT pg_catalog.setval('"app"."ticket_seq"', 165, true)`],
    });
    expect(byAddress(source, 'sequence_value app.unused_seq').definition).toBe('last_value=1 is_called=f');
    expect(byAddress(source, 'sequence_value We"ird Schema.MixedCase_id_seq')).toMatchObject({
      definition: 'last_value=18 is_called=t',
      dependsOn: ['table We"ird Schema.MixedCase'],
    });
    expect(byAddress(source, 'sequence app.ticket_seq').createSql[0]).toBe(
      'CREATE SEQUENCE "app"."ticket_seq" AS integer START WITH 100 INCREMENT BY 5 MINVALUE 50 MAXVALUE 100000 CACHE 3 CYCLE',
    );
    expect(byAddress(source, 'sequence_owner We"ird Schema.select_from_seq').createSql).toEqual([
      'ALTER SEQUENCE "We""ird Schema"."select_from_seq" OWNED BY "We""ird Schema"."select"."from"',
    ]);

    const mixed = byAddress(source, 'table We"ird Schema.MixedCase').createSql[0] ?? '';
    expect(mixed).toContain(
      '"id" bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME "We""ird Schema"."MixedCase_id_seq" START WITH 10 INCREMENT BY 2 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 5 NO CYCLE) NOT NULL',
    );
    const select = byAddress(source, 'table We"ird Schema.select').createSql[0] ?? '';
    expect(select).toContain(`"Mixed Col" text DEFAULT 'it''s'::text NOT NULL`);
    expect(select).toContain('"a.b" text COLLATE "pg_catalog"."C"');
    expect(select).toContain('CONSTRAINT "check ""me""" CHECK (("1st col" > 0))');
    expect(byAddress(source, 'table We"ird Schema.with space').createSql[0]).toContain(
      '"double qty" integer GENERATED ALWAYS AS ((qty * 2)) STORED',
    );
    expect(byAddress(source, 'table app.orders').createSql).toContain(
      'ALTER TABLE ONLY "app"."orders" REPLICA IDENTITY FULL',
    );
    expect(byAddress(source, 'table app.orders').definition).not.toContain('orders_qty_positive');
    expect(byAddress(source, 'constraint app.orders.orders_qty_positive').createSql).toEqual([
      'ALTER TABLE "app"."orders" ADD CONSTRAINT "orders_qty_positive" CHECK ((qty > 0)) NOT VALID',
    ]);
    expect(byAddress(source, 'table app.special_log').createSql).toEqual([
      'CREATE TABLE "app"."special_log" (\n    "extra" integer\n) INHERITS ("app"."base_log")',
      `ALTER TABLE ONLY "app"."special_log" ALTER COLUMN "msg" SET DEFAULT 'special'::text`,
    ]);
    expect(byAddress(source, 'table app.cache').createSql[0]).toMatch(
      /^CREATE UNLOGGED TABLE .* WITH \("fillfactor"='70', "autovacuum_enabled"='false'\)$/s,
    );

    expect(byAddress(source, 'table app.events').createSql[0]).toMatch(/\) PARTITION BY RANGE \(happened_at\)$/);
    expect(byAddress(source, 'table app.events_2024').createSql[0]).toBe(
      `CREATE TABLE "app"."events_2024" PARTITION OF "app"."events"\nFOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (kind)`,
    );
    expect(byAddress(source, 'table app.events_default').createSql).toEqual([
      'CREATE TABLE "app"."events_default" PARTITION OF "app"."events"\nDEFAULT',
      `ALTER TABLE ONLY "app"."events_default" ALTER COLUMN "kind" SET DEFAULT 'late'::text`,
      'ALTER TABLE ONLY "app"."events_default" ALTER COLUMN "payload" SET NOT NULL',
    ]);
    expect(byAddress(source, 'table app.readings_2024').createSql[0]).toContain(
      `FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-06-30 22:00:00+00')`,
    );

    expect(byAddress(source, 'constraint We"ird Schema.MixedCase.MixedCase_ref_fkey').definition).toBe(
      'FOREIGN KEY (ref) REFERENCES "We""ird Schema"."select"("from") ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED',
    );
    expect(byAddress(source, 'constraint We"ird Schema.a.b.a.b_r_excl').definition).toBe(
      'EXCLUDE USING gist (r WITH &&)',
    );
    expect(byAddress(source, 'index app.events_payload_idx').createSql).toEqual([
      'CREATE INDEX events_payload_idx ON app.events USING gin (payload)',
    ]);
    // a plain table's primary key: its unique index first (builds beside the table's other indexes), then attached
    expect(byAddress(source, 'constraint app.docs.docs_pkey').createSql).toEqual([
      'CREATE UNIQUE INDEX docs_pkey ON app.docs USING btree (id)',
      'ALTER TABLE "app"."docs" ADD CONSTRAINT "docs_pkey" PRIMARY KEY USING INDEX "docs_pkey"',
    ]);
    expect(byAddress(source, 'constraint app.docs.docs_pkey').definition).toBe('PRIMARY KEY (id)');
    // a partitioned table's primary key cannot be attached USING INDEX: added with its definition
    expect(byAddress(source, 'constraint app.events.events_pkey').createSql).toEqual([
      'ALTER TABLE "app"."events" ADD CONSTRAINT "events_pkey" PRIMARY KEY (id, happened_at, kind)',
    ]);
    expect(byAddress(source, 'index app.docs_code_idx').createSql[1]).toBe(
      'ALTER TABLE ONLY "app"."docs" REPLICA IDENTITY USING INDEX "docs_code_idx"',
    );

    expect(byAddress(source, 'view app.secure_orders').createSql[0]).toMatch(
      /^CREATE VIEW "app"\."secure_orders" WITH \("security_barrier"='true', "check_option"='local'\) AS\n/,
    );
    expect(byAddress(source, 'materialized_view app.mv_totals').createSql).toEqual([
      expect.stringMatching(/^CREATE MATERIALIZED VIEW "app"\."mv_totals" AS\n[\s\S]* WITH NO DATA$/),
      'REFRESH MATERIALIZED VIEW "app"."mv_totals"',
    ]);
    expect(byAddress(source, 'materialized_view app.mv_totals').definition).toMatch(/\npopulated=true$/);
    expect(byAddress(source, 'materialized_view app.mv_empty').createSql).toHaveLength(1);
    expect(byAddress(source, 'materialized_view app.mv_empty').definition).toMatch(/\npopulated=false$/);

    expect(byAddress(source, 'trigger app.orders.orders_audit').createSql).toEqual([
      'CREATE TRIGGER orders_audit AFTER INSERT OR DELETE ON app.orders FOR EACH STATEMENT EXECUTE FUNCTION app.audit()',
      'ALTER TABLE "app"."orders" DISABLE TRIGGER "orders_audit"',
    ]);
    expect(byAddress(source, 'trigger app.orders.orders_touch').createSql).toHaveLength(1);
    expect(byAddress(source, 'rls app.patients')).toMatchObject({
      definition: 'enable=true force=true',
      createSql: [
        'ALTER TABLE "app"."patients" ENABLE ROW LEVEL SECURITY',
        'ALTER TABLE "app"."patients" FORCE ROW LEVEL SECURITY',
      ],
    });
    expect(byAddress(source, 'policy app.patients.own_rows').createSql).toEqual([
      'CREATE POLICY "own_rows" ON "app"."patients" AS PERMISSIVE FOR SELECT TO PUBLIC USING ((owner_name = CURRENT_USER))',
    ]);
    expect(byAddress(source, 'policy app.patients.not "deleted"').createSql[0]).toContain(
      'AS RESTRICTIVE FOR ALL TO PUBLIC USING ((NOT deleted)) WITH CHECK ((NOT deleted))',
    );
    expect(byAddress(source, 'comment column We"ird Schema.select.Mixed Col').createSql).toEqual([
      `COMMENT ON COLUMN "We""ird Schema"."select"."Mixed Col" IS 'column comment with ''quotes'''`,
    ]);
    expect(byAddress(source, 'function app.concat_all(text)').createSql[0]).toBe(
      `CREATE AGGREGATE "app"."concat_all"(text) (\n    SFUNC = "app"."concat_step",\n    STYPE = text,\n    INITCOND = ''\n)`,
    );
    expect(byAddress(source, 'type app.positive_int').createSql).toEqual([
      'CREATE DOMAIN "app"."positive_int" AS integer DEFAULT 1 NOT NULL CONSTRAINT "positive_int_check" CHECK ((VALUE > 0))',
    ]);
    expect(byAddress(source, 'type app.code').createSql).toEqual([
      `CREATE DOMAIN "app"."code" AS text COLLATE "pg_catalog"."C" CONSTRAINT "code_format" CHECK ((VALUE ~ '^[A-Z]+$'::text))`,
      'ALTER DOMAIN "app"."code" ADD CONSTRAINT "code_short" CHECK ((length(VALUE) < 10)) NOT VALID',
    ]);
    expect(byAddress(source, 'type app.floatrange').createSql).toEqual([
      'CREATE TYPE "app"."floatrange" AS RANGE (SUBTYPE = double precision, SUBTYPE_DIFF = "pg_catalog"."float8mi", MULTIRANGE_TYPE_NAME = "app"."floatmultirange")',
    ]);
    // owners and ACLs are recorded, not rendered
    expect(byAddress(source, 'table app.orders').owner).toBeTruthy();
    for (const o of source.objects) expect(o.definition).not.toMatch(/OWNER TO|GRANT /);
  });

  it('records dependencies from pg_depend', () => {
    const deps = (a: string): readonly string[] => byAddress(source, a).dependsOn;
    expect(deps('table We"ird Schema.select')).toEqual(
      expect.arrayContaining([
        'schema We"ird Schema',
        'type app.mood',
        'type app.positive_int',
        'type We"ird Schema.MixedType',
        'sequence app.ticket_seq',
        'sequence We"ird Schema.select_from_seq',
        'extension pgcrypto',
      ]),
    );
    expect(deps('table We"ird Schema.a.b')).toEqual(
      expect.arrayContaining(['type app.floatrange', 'type app.pair', 'type app.code']),
    );
    expect(deps('table app.events_2024_click')).toContain('table app.events_2024');
    expect(deps('table app.special_log')).toContain('table app.base_log');
    expect(deps('constraint We"ird Schema.MixedCase.MixedCase_ref_fkey')).toEqual(
      expect.arrayContaining(['table We"ird Schema.MixedCase', 'constraint We"ird Schema.select.select_pkey']),
    );
    expect(deps('constraint We"ird Schema.MixedCase.MixedCase_parent_fkey')).toContain(
      'constraint We"ird Schema.MixedCase.MixedCase_pkey',
    );
    expect(deps('view app.very_big_customers')).toContain('view app.big_customers');
    expect(deps('view app.big_customers')).toEqual(
      expect.arrayContaining(['view app.order_totals', 'table app.customers']),
    );
    expect(deps('view app.secure_orders')).toEqual(
      expect.arrayContaining(['table app.orders', 'function app.add(integer, integer)']),
    );
    expect(deps('materialized_view app.mv_totals')).toContain('view app.order_totals');
    expect(deps('index app.mv_totals_customer_idx')).toContain('materialized_view app.mv_totals');
    expect(deps('trigger app.orders.orders_touch')).toEqual(
      expect.arrayContaining(['table app.orders', 'function app.touch()']),
    );
    expect(deps('function app.concat_all(text)')).toContain('function app.concat_step(text, text)');
    expect(deps('function app.add3(integer, integer, integer)')).toContain('function app.add(integer, integer)');
    expect(deps('policy app.patients.own_rows')).toEqual(
      expect.arrayContaining(['table app.patients', 'rls app.patients']),
    );
    expect(deps('comment column app.order_totals.total')).toEqual(['view app.order_totals']);
    expect(deps('sequence_value app.ticket_seq')).toEqual(['sequence app.ticket_seq']);
    expect(deps('sequence_owner We"ird Schema.select_from_seq')).toEqual([
      'sequence We"ird Schema.select_from_seq',
      'table We"ird Schema.select',
    ]);
    expect(deps('type app.pair')).toContain('type app.mood');
    expect(deps('sequence app.ticket_seq')).toEqual(['schema app']);
    // every dependency is an address of the catalog
    const all = new Set(source.objects.map((o) => o.address));
    for (const o of source.objects) for (const d of o.dependsOn) expect(all.has(d), `${o.address} -> ${d}`).toBe(true);
  });

  it('orders the objects for creation: pre-data first, dependencies first', () => {
    const ordered = orderForCreate(source.objects);
    expect(ordered).toHaveLength(source.objects.length);
    const pos = new Map(ordered.map((o, i) => [o.address, i]));
    const firstPost = ordered.findIndex((o) => o.phase === 'post-data');
    expect(ordered.slice(firstPost).every((o) => o.phase === 'post-data')).toBe(true);
    for (const o of ordered) {
      for (const d of o.dependsOn) {
        const dep = ordered[pos.get(d) ?? -1];
        if (dep && dep.phase === o.phase)
          expect(pos.get(d) ?? Infinity, `${d} before ${o.address}`).toBeLessThan(pos.get(o.address) ?? -1);
      }
    }
    expect(orderForCreate([...source.objects].reverse()).map((o) => o.address)).toEqual(ordered.map((o) => o.address));
  });

  it('does not list the objects of an extension', () => {
    const addresses = source.objects.map((o) => o.address);
    expect(addresses.filter((a) => /^function public\.(digest|gen_random_bytes|crypt|gen_salt)\(/.test(a))).toEqual([]);
    expect(
      source.objects.filter((o) => o.schema === 'public' && o.kind !== 'extension' && o.kind !== 'comment'),
    ).toEqual([]);
  });

  it('fills TableInfo: keys, kinds, parents, columns, triggers', () => {
    const t = (schema: string, name: string) => {
      const info = source.tables.find((x) => x.schema === schema && x.name === name);
      if (!info) throw new Error(`no table ${schema}.${name}`);
      return info;
    };
    expect(t('We"ird Schema', 'select')).toMatchObject({
      key: ['from'],
      keyKind: 'primary',
      kind: 'table',
      parent: null,
      address: 'table We"ird Schema.select',
    });
    expect(t('We"ird Schema', '1st_table')).toMatchObject({ key: ['a', 'b'], keyKind: 'primary' });
    expect(t('We"ird Schema', 'ünïcødé tåble')).toMatchObject({ key: ['émail'], keyKind: 'unique' });
    expect(t('We"ird Schema', 'with space')).toMatchObject({ key: null, keyKind: null });
    expect(t('app', 'events')).toMatchObject({
      kind: 'partitioned',
      key: ['id', 'happened_at', 'kind'],
      parent: null,
      hasTriggers: true,
    });
    expect(t('app', 'events_2024')).toMatchObject({ kind: 'partitioned', parent: { schema: 'app', name: 'events' } });
    expect(t('app', 'events_2024_click')).toMatchObject({
      kind: 'partition',
      parent: { schema: 'app', name: 'events_2024' },
      key: ['id', 'happened_at', 'kind'],
    });
    expect(t('app', 'orders')).toMatchObject({ hasTriggers: true });
    expect(t('app', 'customers')).toMatchObject({ hasTriggers: false });
    const cols = t('We"ird Schema', 'MixedCase').columns;
    expect(cols.map((c) => c.name)).toEqual(['id', 'ref', 'parent', 'Label']);
    expect(cols[0]).toMatchObject({
      attnum: 1,
      type: 'bigint',
      typeName: 'int8',
      typeSchema: 'pg_catalog',
      notNull: true,
      identity: 'always',
      default: null,
    });
    expect(cols[3]).toMatchObject({ type: 'character varying(40)', notNull: true });
    const sel = t('We"ird Schema', 'select').columns;
    expect(sel.find((c) => c.name === 'a.b')?.collation).toBe('"pg_catalog"."C"');
    expect(sel.find((c) => c.name === 'ünï')).toMatchObject({
      type: 'app.mood',
      typeName: 'mood',
      typeSchema: 'app',
      default: "'ok'::app.mood",
    });
    expect(t('We"ird Schema', 'with space').columns.find((c) => c.name === 'double qty')?.generated).toBe('(qty * 2)');
    for (const info of source.tables) {
      expect(info.estimatedRows).toBeGreaterThanOrEqual(0);
      expect(info.estimatedBytes).toBeGreaterThanOrEqual(0);
    }
    expect(source.tables.map((x) => x.address)).toEqual(
      source.objects.filter((o) => o.kind === 'table').map((o) => o.address),
    );
  });
});

describe('catalog: changes, exclusions and pgshift', () => {
  let dbs: FreshDatabases;
  beforeAll(async () => {
    dbs = await freshDatabases('catalog_changes');
    await withPg(dbs.sourceUrl, (c) => c.query(FIXTURE));
  });
  afterAll(async () => dbs?.drop());

  it('changing one default changes the fingerprint and exactly that table', async () => {
    const before = await catalogOf(dbs.sourceUrl);
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`ALTER TABLE "We""ird Schema"."select" ALTER COLUMN "Mixed Col" SET DEFAULT 'changed'`),
    );
    const after = await catalogOf(dbs.sourceUrl);
    expect(after.fingerprint).not.toBe(before.fingerprint);
    const diff = differences(before, after);
    expect(diff).toHaveLength(1);
    expect(diff[0]).toMatch(/^table We"ird Schema\.select\n/);
    expect(diff[0]).toContain(`DEFAULT 'changed'::text`);
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`ALTER TABLE "We""ird Schema"."select" ALTER COLUMN "Mixed Col" SET DEFAULT 'it''s'`),
    );
    expect((await catalogOf(dbs.sourceUrl)).fingerprint).toBe(before.fingerprint);
  });

  it('ignores the schema pgshift and the excluded schemas', async () => {
    const before = await catalogOf(dbs.sourceUrl);
    await withPg(dbs.sourceUrl, async (c) => {
      await c.query('CREATE SCHEMA pgshift');
      await c.query('CREATE TABLE pgshift.runs (id serial PRIMARY KEY, note text)');
      await c.query('CREATE VIEW pgshift.v AS SELECT id FROM pgshift.runs');
      await c.query(`COMMENT ON TABLE pgshift.runs IS 'state'`);
    });
    const after = await catalogOf(dbs.sourceUrl);
    expect(after.objects.filter((o) => o.schema === 'pgshift' || o.address.includes('pgshift'))).toEqual([]);
    expect(after.tables.filter((t) => t.schema === 'pgshift')).toEqual([]);
    expect(after.fingerprint).toBe(before.fingerprint);

    const excluded = await catalogOf(dbs.sourceUrl, ['We"ird Schema']);
    expect(excluded.objects.filter((o) => o.schema === 'We"ird Schema' || o.address.includes('We"ird'))).toEqual([]);
    expect(excluded.objects.some((o) => o.address === 'table app.orders')).toBe(true);
  });

  it('reads in a transaction of its own and leaves the session as it found it', async () => {
    await withPg(dbs.sourceUrl, async (c) => {
      const before = await c.query<{ s: string }>("SELECT pg_catalog.current_setting('search_path') AS s");
      await introspect(c);
      const after = await c.query<{ s: string; idle: boolean }>(
        "SELECT pg_catalog.current_setting('search_path') AS s, pg_catalog.now() = pg_catalog.statement_timestamp() AS idle",
      );
      expect(after.rows[0]?.s).toBe(before.rows[0]?.s); // SET LOCAL: gone with the transaction
      expect(after.rows[0]?.idle).toBe(true); // no transaction left open
    });
  });

  it('reads 1,000 tables in seconds', async () => {
    await withPg(dbs.sourceUrl, (c) => c.query(manyTablesSql(1000)));
    const start = Date.now();
    const catalog = await catalogOf(dbs.sourceUrl);
    const elapsed = Date.now() - start;
    expect(catalog.tables.filter((t) => t.schema === 'many')).toHaveLength(1000);
    expect(catalog.objects.filter((o) => o.schema === 'many' && o.kind === 'trigger')).toHaveLength(1000);
    expect(elapsed).toBeLessThan(10_000);
  });
});

describe('catalog: pagila schema, 15 -> 17', () => {
  const dir = fixturesDir();
  const file = dir ? join(dir, 'realdb', 'pagila', 'pagila-schema.sql') : null;
  let dbs: FreshDatabases;
  beforeAll(async () => {
    dbs = await freshDatabases('catalog_pagila');
  });
  afterAll(async () => dbs?.drop());

  it.skipIf(!file)('round-trips with identical definitions', async () => {
    await withPg(dbs.sourceUrl, (c) => c.query(readFileSync(file as string, 'utf8')));
    const source = await catalogOf(dbs.sourceUrl);
    await withPg(dbs.targetUrl, (c) => createAll(c, source.objects));
    const target = await catalogOf(dbs.targetUrl);
    const diff = differences(source, target);
    expect(diff, diff.join('\n\n')).toEqual([]);
    expect(target.fingerprint).toBe(source.fingerprint);
    const addresses = source.objects.map((o) => o.address);
    expect(addresses).toEqual(
      expect.arrayContaining([
        'type public.mpaa_rating',
        'function public.film_in_stock(integer, integer)',
        'sequence public.actor_actor_id_seq',
        'table public.actor',
        'constraint public.actor.actor_pkey',
        'index public.idx_actor_last_name',
        'trigger public.actor.last_updated',
        'view public.actor_info',
        'materialized_view public.rental_by_category',
        'sequence_value public.actor_actor_id_seq',
        'table public.payment_p2022_01',
      ]),
    );
    expect(source.tables.find((t) => t.name === 'payment_p2022_01')).toMatchObject({
      kind: 'partition',
      parent: { schema: 'public', name: 'payment' },
    });
  });
});

describe('catalog: view definitions agree across majors', () => {
  let dbs: FreshDatabases;
  beforeAll(async () => {
    dbs = await freshDatabases('catalog_views');
  });
  afterAll(async () => dbs?.drop());

  it('normalises the 15 deparse of the same views to the 17 one', async () => {
    const sql = readFileSync(join(REPO, 'test', 'fixtures', 'catalog', 'views-cross-major.sql'), 'utf8');
    await Promise.all([withPg(dbs.sourceUrl, (c) => c.query(sql)), withPg(dbs.targetUrl, (c) => c.query(sql))]);
    const [source, target] = await Promise.all([catalogOf(dbs.sourceUrl), catalogOf(dbs.targetUrl)]);
    expect(source.objects.filter((o) => o.kind === 'view').length).toBeGreaterThanOrEqual(24);
    const diff = differences(source, target);
    expect(diff, diff.join('\n\n')).toEqual([]);
    // the createSql keeps what the source printed (valid on both), only the definition is normalised
    const v1 = byAddress(source, 'view x.v1');
    expect(v1.createSql[0]).toContain('SELECT t.a,');
    expect(v1.definition).toContain('SELECT a,');
  });
});
