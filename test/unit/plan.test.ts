import { describe, expect, it } from 'vitest';
import { placeholderSpec } from '../support/specs.js';
import type { Catalog, CatalogObject, TableInfo } from '../../src/catalog/types.js';
import { render, type KindSpec } from '../../src/catalog/kinds/registry.js';
import type { TableSpec } from '../../src/catalog/kinds/table.js';
import { fingerprint } from '../../src/catalog/fingerprint.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { renderPlanMarkdown, renderPlanText } from '../../src/cli/render/plan.js';
import { computePlan, sequenceAtOrPast } from '../../src/plan/diff.js';
import { configHash } from '../../src/plan/config-hash.js';
import { canonicalJson } from '../../src/state/hash.js';
import { EMPTY_STATE_SERIAL, type StateSnapshot } from '../../src/state/snapshot.js';

function config(extra = ''): Config {
  const r = parseConfig(
    `version: 1\nname: clinic\nsource:\n  url: postgres://app:pw-src@127.0.0.1:5432/clinic\ntarget:\n  url: postgres://postgres:pw-tgt@127.0.0.1:5433/postgres\n${extra}`,
    'migration.yaml',
    {},
  );
  if (!r.config) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

const obj = (o: Partial<CatalogObject> & Pick<CatalogObject, 'kind' | 'address' | 'name'>): CatalogObject => ({
  spec: placeholderSpec(o.kind),
  schema: 'public',
  table: null,
  phase: ['schema', 'extension', 'type', 'function', 'sequence', 'table'].includes(o.kind) ? 'pre-data' : 'post-data',
  createSql: [`-- create ${o.address}`],
  definition: `def of ${o.address}`,
  dependsOn: [],
  owner: 'app',
  acl: null,
  ...o,
});

const patients = { schema: 'public', name: 'patients' };
const SOURCE_OBJECTS: CatalogObject[] = [
  obj({ kind: 'schema', address: 'schema public', name: 'public', schema: null }),
  obj({ kind: 'schema', address: 'schema We"ird', name: 'We"ird', schema: null }),
  obj({ kind: 'extension', address: 'extension pgcrypto', name: 'pgcrypto', schema: 'public' }),
  obj({ kind: 'type', address: 'type public.visit_kind', name: 'visit_kind', dependsOn: ['schema public'] }),
  obj({
    kind: 'sequence',
    address: 'sequence public.patients_id_seq',
    name: 'patients_id_seq',
    dependsOn: ['schema public'],
  }),
  obj({
    kind: 'table',
    address: 'table public.patients',
    name: 'patients',
    table: patients,
    dependsOn: ['schema public', 'sequence public.patients_id_seq'],
  }),
  obj({
    kind: 'table',
    address: 'table We"ird.select',
    name: 'select',
    schema: 'We"ird',
    table: { schema: 'We"ird', name: 'select' },
    dependsOn: ['schema We"ird'],
  }),
  obj({
    kind: 'table',
    address: 'table public.sessions',
    name: 'sessions',
    table: { schema: 'public', name: 'sessions' },
  }),
  obj({
    kind: 'constraint',
    address: 'constraint public.patients.patients_pkey',
    name: 'patients_pkey',
    table: patients,
    dependsOn: ['table public.patients'],
  }),
  obj({
    kind: 'index',
    address: 'index public.patients_email_idx',
    name: 'patients_email_idx',
    table: patients,
    dependsOn: ['table public.patients'],
  }),
  obj({
    kind: 'view',
    address: 'view public.patient_names',
    name: 'patient_names',
    dependsOn: ['table public.patients'],
  }),
  obj({
    kind: 'sequence_value',
    address: 'sequence_value public.patients_id_seq',
    name: 'patients_id_seq',
    definition: 'last_value=42 is_called=t',
    dependsOn: ['sequence public.patients_id_seq'],
  }),
];

const tableInfo = (schema: string, name: string, key: string[] | null): TableInfo => ({
  schema,
  name,
  address: `table ${schema}.${name}`,
  kind: 'table',
  parent: null,
  columns: [
    {
      name: 'id',
      attnum: 1,
      type: 'bigint',
      typeName: 'int8',
      typeSchema: 'pg_catalog',
      notNull: true,
      default: null,
      identity: null,
      generated: null,
      collation: null,
    },
    {
      name: 'kind',
      attnum: 2,
      type: 'public.visit_kind',
      typeName: 'visit_kind',
      typeSchema: 'public',
      notNull: false,
      default: null,
      identity: null,
      generated: null,
      collation: null,
    },
  ],
  key,
  keyKind: key ? 'primary' : null,
  estimatedRows: 1000,
  estimatedBytes: 65536,
  hasTriggers: false,
});

function catalog(objects: CatalogObject[], tables: readonly TableInfo[] = []): Catalog {
  return { serverVersionNum: 150000, database: 'clinic', fingerprint: fingerprint(objects), objects, tables };
}

const SOURCE = catalog(SOURCE_OBJECTS, [
  tableInfo('public', 'patients', ['id']),
  tableInfo('We"ird', 'select', null),
  tableInfo('public', 'sessions', ['id']),
]);
const EMPTY_STATE: StateSnapshot = {
  exists: false,
  serial: EMPTY_STATE_SERIAL,
  objects: {},
  checkpoints: [],
  runs: [],
  lock: undefined,
  lastVerification: undefined,
};

function plan(cfg: Config, target: Catalog) {
  return computePlan({
    config: cfg,
    configHash: configHash(cfg),
    source: SOURCE,
    target,
    state: EMPTY_STATE,
    sourceDisplay: 'app@127.0.0.1:5432/clinic',
    targetDisplay: 'postgres@127.0.0.1:5433/postgres',
  });
}

describe('computePlan', () => {
  const target = catalog([
    SOURCE_OBJECTS[0] as CatalogObject, // schema public: same
    { ...(SOURCE_OBJECTS[10] as CatalogObject), definition: 'another view body' }, // drift
    obj({ kind: 'table', address: 'table public.app_only', name: 'app_only' }), // only on the target: untouched
  ]);

  it('creates what is missing, leaves what matches, reports drift, ignores target-only objects', () => {
    const p = plan(config(), target);
    const byAddress = new Map(p.actions.map((a) => [a.address, a]));
    expect(byAddress.has('schema public')).toBe(false);
    expect(byAddress.get('table public.patients')?.change).toBe('create');
    expect(byAddress.has('view public.patient_names')).toBe(false);
    expect(byAddress.has('table public.app_only')).toBe(false);
    expect(byAddress.get('sequence_value public.patients_id_seq')?.change).toBe('update');
    expect(p.findings.map((f) => `${f.code} ${f.address}`)).toEqual([
      'OBJECT_DRIFT view public.patient_names',
      'TABLE_WITHOUT_KEY table We"ird.select',
    ]);
    expect(p.summary).toEqual({ add: 12, resume: 0, change: 1, destroy: 0, unchanged: 1 });
    // data: one copy per table, between the schema phases; after-data objects of a table wait for its copy
    const copy = byAddress.get('copy public.patients');
    expect(copy).toMatchObject({
      kind: 'copy_table',
      phase: 'data',
      change: 'create',
      format: 'text',
      key: [{ name: 'id', type: 'bigint' }],
      batchSize: 100000,
    });
    expect(byAddress.get('copy We"ird.select')).toMatchObject({ key: null });
    expect(byAddress.get('index public.patients_email_idx')?.dependsOn).toContain('copy public.patients');
    // a sequence's value is read from the (live) source when it is set: after every copy, whichever table draws on it
    const copies = p.actions.filter((a) => a.kind === 'copy_table').map((a) => a.id);
    expect(copies.length).toBeGreaterThan(1);
    expect(byAddress.get('sequence_value public.patients_id_seq')?.dependsOn).toEqual(expect.arrayContaining(copies));
    // pre-data before post-data, dependencies first
    const order = p.actions.map((a) => a.address);
    expect(order.indexOf('table public.patients')).toBeLessThan(order.indexOf('index public.patients_email_idx'));
    expect(order.indexOf('sequence public.patients_id_seq')).toBeLessThan(order.indexOf('table public.patients'));
  });

  it('is pure and deterministic: the same inputs give a byte-identical plan', () => {
    const a = canonicalJson(plan(config(), target));
    const shuffled = catalog([...target.objects].reverse());
    const b = canonicalJson(plan(config(), shuffled));
    const sourceShuffled = { ...SOURCE, objects: [...SOURCE.objects].reverse(), tables: [...SOURCE.tables].reverse() };
    const c = canonicalJson(
      computePlan({
        config: config(),
        configHash: configHash(config()),
        source: sourceShuffled,
        target,
        state: EMPTY_STATE,
        sourceDisplay: 'app@127.0.0.1:5432/clinic',
        targetDisplay: 'postgres@127.0.0.1:5433/postgres',
      }),
    );
    expect(c).toBe(a);
    expect(b).toBe(a);
  });

  it('honours tables.include / exclude; partitions and table-bound objects follow their table', () => {
    const p = plan(config('tables:\n  include: ["public.*"]\n  exclude: ["public.sessions"]\n'), target);
    const addresses = p.actions.map((a) => a.address);
    expect(addresses).not.toContain('table public.sessions');
    expect(addresses).not.toContain('table We"ird.select');
    expect(addresses).not.toContain('schema We"ird');
    expect(addresses).toContain('index public.patients_email_idx');
  });

  it('says No changes when the target matches', () => {
    const p = plan(config('copy: { data: false }\n'), SOURCE);
    expect(p.actions).toEqual([]);
    expect(renderPlanText(p)).toContain('No changes.');
  });

  it('renders text like terraform (snapshot)', () => {
    expect(renderPlanText(plan(config(), target))).toMatchSnapshot();
  });

  it('renders markdown for a pull request (snapshot)', () => {
    expect(renderPlanMarkdown(plan(config(), target))).toMatchSnapshot();
  });

  it('holds no secret', () => {
    const text = canonicalJson(plan(config(), target));
    expect(text).not.toContain('pw-src');
    expect(text).not.toContain('pw-tgt');
  });
});

describe('copy actions from the state', () => {
  const cp = (unit: string, status: string, rows: number, lastKey: unknown) => ({
    unit,
    tableSchema: 'public',
    tableName: unit.split('.')[1] ?? '',
    status,
    rowsCopied: rows,
    bytesCopied: 0,
    lastKey,
    error: null,
    seconds: 4,
  });
  it('skips done units, resumes started ones after their last key, and shows integer keys only', () => {
    const state: StateSnapshot = {
      ...EMPTY_STATE,
      exists: true,
      serial: 'x',
      checkpoints: [
        cp('copy public.patients', 'running', 400, { columns: ['id'], values: ['52000'] }),
        cp('copy public.sessions', 'done', 1000, null),
      ],
    };
    const cfg = config();
    const p = computePlan({
      config: cfg,
      configHash: configHash(cfg),
      source: SOURCE,
      target: SOURCE,
      state,
      sourceDisplay: 's',
      targetDisplay: 't',
    });
    expect(p.actions.filter((a) => a.kind !== 'read_back').map((a) => `${a.change} ${a.address}: ${a.reason}`)).toEqual(
      [
        'create copy We"ird.select: ~1,000 rows, 64 kB (text format: column "kind" has type public.visit_kind), one atomic unit (no key)',
        'resume copy public.patients: resume after id 52000, ~600 rows left, ETA ~6s at 100 rows/s',
        'update verify: row counts, checksums full',
      ],
    );
    // each copied table is read back by its own action once copied, beside its index builds (not the done one)
    const readBacks = p.actions.filter((a) => a.kind === 'read_back');
    expect(readBacks.map((a) => [a.id, a.dependsOn, a.locks])).toEqual([
      ['read-back We"ird.select', ['copy We"ird.select'], ['table We"ird.select']],
      ['read-back public.patients', ['copy public.patients'], ['table public.patients']],
    ]);
    expect(p.actions.find((a) => a.kind === 'verify')?.dependsOn).toEqual(
      expect.arrayContaining(readBacks.map((a) => a.id)),
    );
    expect(p.summary).toMatchObject({ add: 1, resume: 1, change: 0 });
    const text = renderPlanText(p);
    expect(text).toContain('Plan: 1 to add, 1 to resume, 0 to change, 0 to destroy.');
    expect(text).not.toContain('read-back'); // part of its copy's line
  });
});

describe('sequence values: never lowered on the target', () => {
  const SEQ = 'sequence_value public.patients_id_seq';
  const withSequence = (definition: string): Catalog =>
    catalog(
      SOURCE_OBJECTS.map((o) => (o.address === SEQ ? { ...o, definition } : o)),
      SOURCE.tables,
    );
  const planFor = (source: Catalog, target: Catalog) => {
    const cfg = config('copy: { data: false }\n');
    return computePlan({
      config: cfg,
      configHash: configHash(cfg),
      source,
      target,
      state: EMPTY_STATE,
      sourceDisplay: 's',
      targetDisplay: 't',
    });
  };

  it('plans nothing for a target sequence already past the source (the application took values there)', () => {
    // the source says 42 (frozen after a cutover, say); the target's application has reached 500
    const p = planFor(SOURCE, withSequence('last_value=500 is_called=t'));
    expect(p.actions).toEqual([]);
    expect(renderPlanText(p)).toContain('No changes.');
    // the same value but not yet handed out on the source: the target is past it too
    expect(
      planFor(withSequence('last_value=42 is_called=f'), withSequence('last_value=42 is_called=t')).actions,
    ).toEqual([]);
  });

  it('raises a target sequence that is behind, carrying the source value for the handler', () => {
    for (const behind of ['last_value=41 is_called=t', 'last_value=42 is_called=f', 'last_value=-7 is_called=t']) {
      const p = planFor(SOURCE, withSequence(behind));
      expect(p.actions.map((a) => a.address)).toEqual([SEQ]);
      expect(p.actions[0]).toMatchObject({
        kind: 'set_sequence_value',
        change: 'update',
        sequence: { schema: 'public', name: 'patients_id_seq' },
        value: { last: '42', called: true },
      });
    }
  });

  it('reads the direction of a descending sequence: a lower value is further on', () => {
    const down = (def: string): Catalog =>
      catalog(
        SOURCE_OBJECTS.map((o) =>
          o.address === SEQ
            ? { ...o, definition: def }
            : o.address === 'sequence public.patients_id_seq'
              ? {
                  ...o,
                  definition:
                    'CREATE SEQUENCE "public"."patients_id_seq" AS bigint START WITH -1 INCREMENT BY -1 MINVALUE -9223372036854775808 MAXVALUE -1 CACHE 1 NO CYCLE',
                }
              : o,
        ),
        SOURCE.tables,
      );
    expect(planFor(down('last_value=-42 is_called=t'), down('last_value=-90 is_called=t')).actions).toEqual([]);
    expect(
      planFor(down('last_value=-42 is_called=t'), down('last_value=-10 is_called=t')).actions.map((a) => a.address),
    ).toEqual([SEQ]);
  });

  it('sequenceAtOrPast orders (last_value, is_called), false before true', () => {
    const at = (last: string, called: boolean) => ({ last, called });
    expect(sequenceAtOrPast(at('43', false), at('42', true))).toBe(true);
    expect(sequenceAtOrPast(at('42', true), at('42', true))).toBe(true);
    expect(sequenceAtOrPast(at('42', false), at('42', true))).toBe(false);
    expect(sequenceAtOrPast(at('9223372036854775806', true), at('9223372036854775807', false))).toBe(false);
    expect(sequenceAtOrPast(at('-5', true), at('-3', true), true)).toBe(true);
    expect(sequenceAtOrPast(at('-2', true), at('-3', true), true)).toBe(false);
  });
});

describe('a target the application is cut over to', () => {
  const cutOver = (applicationOn: 'source' | 'target'): StateSnapshot => ({
    ...EMPTY_STATE,
    exists: true,
    serial: 'x',
    cutover: {
      id: 'c0ffee',
      direction: 'cutover',
      status: 'done',
      step: 'done',
      startedAt: '2024-01-01T00:00:00.000Z',
      switchedAt: '2024-01-01T00:00:01.000Z',
      finishedAt: '2024-01-01T00:00:02.000Z',
      freezeMs: 900,
      applicationOn,
      error: null,
    },
  });
  const planWith = (state: StateSnapshot) => {
    const cfg = config();
    // the frozen source's sequence is behind what the application took on the target, and a table is missing
    return computePlan({
      config: cfg,
      configHash: configHash(cfg),
      source: SOURCE,
      target: catalog(SOURCE_OBJECTS.slice(0, 2)),
      state,
      sourceDisplay: 's',
      targetDisplay: 't',
    });
  };

  it('plans nothing and names the cutover and the way back in one blocker', () => {
    const p = planWith(cutOver('target'));
    expect(p.actions).toEqual([]);
    expect(p.findings).toEqual([expect.objectContaining({ code: 'CUTOVER_CUT_OVER', severity: 'blocker' })]);
    expect(p.findings[0]?.message).toContain('cutover c0ffee');
    expect(p.findings[0]?.hint).toContain('pgshift rollback');
    const text = renderPlanText(p);
    expect(text).toContain('No changes: pgshift will not change the target');
    expect(text).not.toContain('matches the desired state');
    expect(text).toContain('Error [CUTOVER_CUT_OVER]');
  });

  it('plans as usual once a rollback put the application back on the source', () => {
    const p = planWith(cutOver('source'));
    expect(p.actions.length).toBeGreaterThan(0);
    expect(p.findings.map((f) => f.code)).not.toContain('CUTOVER_CUT_OVER');
  });
});

describe('copy actions through the table pairs (schemas.map)', () => {
  // a table of a mapped schema whose key column has a type of that schema: the target's names for the copy, the
  // source's names (and its spelling of the key type) for what the copy reads there
  const W = 'We"ird';
  const column = (name: string, type: string) => ({
    name,
    type,
    collation: null,
    generated: null,
    identity: null,
    default: null,
    notNull: true,
    local: true,
  });
  const tableSpec: TableSpec = {
    unlogged: false,
    partitionOf: null,
    inherits: [],
    columns: [column('id', 'bigint'), column('kind', '"We""ird".kind')],
    checks: [],
    partitionBy: null,
    accessMethod: null,
    reloptions: null,
    fixups: [],
    replicaIdentity: null,
    enableRls: false,
  };
  const typed = (o: KindSpec & Pick<CatalogObject, 'address' | 'name' | 'schema'>): CatalogObject => {
    const table = o.kind === 'table' ? { schema: o.schema ?? '', name: o.name } : null;
    return { ...obj({ ...o, table }), ...render({ ...o, table } as Parameters<typeof render>[0]) };
  };
  const objects = [
    typed({ kind: 'schema', spec: {}, address: `schema ${W}`, name: W, schema: null }),
    typed({
      kind: 'type',
      spec: { variant: 'enum', labels: ['a'] },
      address: `type ${W}.kind`,
      name: 'kind',
      schema: W,
    }),
    typed({ kind: 'table', spec: tableSpec, address: `table ${W}.select`, name: 'select', schema: W }),
  ];
  const base = tableInfo(W, 'select', ['id']);
  const info: TableInfo = {
    ...base,
    columns: [
      base.columns[0] as TableInfo['columns'][number],
      {
        ...(base.columns[1] as TableInfo['columns'][number]),
        type: '"We""ird".kind',
        typeName: 'kind',
        typeSchema: W,
        notNull: true,
      },
    ],
  };
  const source = catalog(objects, [info]);
  const cfg = config(
    `schemas:\n  map: { 'We"ird': 'New One' }\ntables:\n  overrides:\n    'We"ird.select': { key: [kind], batch_size: 5 }\n`,
  );
  const p = computePlan({
    config: cfg,
    configHash: configHash(cfg),
    source,
    target: catalog([]),
    state: EMPTY_STATE,
    sourceDisplay: 's',
    targetDisplay: 't',
  });

  it('names the target table, reads the source table with its own spelling of the key type', () => {
    const copy = p.actions.find((a) => a.kind === 'copy_table');
    expect(copy).toMatchObject({
      address: 'copy New One.select',
      table: { schema: 'New One', name: 'select' },
      sourceTable: { schema: W, name: 'select' },
      key: [{ name: 'kind', type: '"We""ird".kind' }],
      columns: ['id', 'kind'],
      batchSize: 5,
      dependsOn: ['table New One.select'],
    });
    // the table is created under the target's name, its column typed by the mapped schema
    const create = p.actions.find((a) => a.address === 'table New One.select');
    expect(create?.kind === 'create_object' ? create.sql.join('\n') : '').toContain('"kind" "New One".kind NOT NULL');
    expect(p.findings.filter((f) => f.severity === 'blocker')).toEqual([]);
  });

  it('an unmapped table reads the source under the same name (no sourceTable)', () => {
    const plain = plan(config(), catalog([]));
    const copy = plain.actions.find((a) => a.address === 'copy public.patients');
    expect(copy).toBeDefined();
    expect(copy).not.toHaveProperty('sourceTable');
  });
});

describe('split copy units (copy.split_tables_larger_than)', () => {
  const target = catalog([SOURCE_OBJECTS[0] as CatalogObject]);
  const split = config('copy: { split_tables_larger_than: 16kB, parallel: 2 }\n');

  it('splits a keyed table larger than the threshold into parts, one line in the plan, no key value', () => {
    const p = plan(split, target);
    const parts = p.actions.filter((a) => a.kind === 'copy_table' && a.address.startsWith('copy public.patients'));
    // 64 kB over 16 kB: 4 parts (at least copy.parallel)
    expect(parts.map((a) => a.id)).toEqual([1, 2, 3, 4].map((i) => `copy public.patients [${i}/4]`));
    expect(parts.every((a) => a.kind === 'copy_table' && a.part?.of === 4 && a.locks.length === 1)).toBe(true);
    expect(new Set(parts.flatMap((a) => a.locks)).size).toBe(4); // parts run side by side
    // a keyless table stays one unit
    expect(p.actions.find((a) => a.address === 'copy We"ird.select')).toMatchObject({ key: null });
    expect(p.actions.some((a) => a.address.startsWith('copy We"ird.select ['))).toBe(false);
    // the table's read-back waits for all its parts; its index only for the copies; the verification for both
    const rb = p.actions.find((a) => a.kind === 'read_back' && a.table.name === 'patients');
    expect(rb).toMatchObject({ id: 'read-back public.patients', phase: 'post-data', locks: ['table public.patients'] });
    expect(rb?.dependsOn).toEqual(parts.map((a) => a.id));
    const idx = p.actions.find((a) => a.address === 'index public.patients_email_idx');
    expect(idx?.dependsOn).toEqual(expect.arrayContaining(parts.map((a) => a.id)));
    expect(idx?.dependsOn).not.toContain('read-back public.patients');
    expect(p.actions.find((a) => a.kind === 'verify')?.dependsOn).toContain('read-back public.patients');
    const text = renderPlanText(p);
    expect(text).toMatch(/\+ copy public\.patients: 4 parts\s+~1,000 rows, 64 kB in 4 key ranges/);
    expect(text).not.toContain('[2/4]');
    expect(renderPlanMarkdown(p)).toContain('+ copy public.patients: 4 parts');
    // a split table counts once, its read-back not at all
    const unsplit = plan(config(), target);
    expect(p.summary).toEqual(unsplit.summary);
  });

  it('leaves tables up to the threshold whole, and splits nothing with off', () => {
    for (const c of [
      config('copy: { split_tables_larger_than: 64kB }\n'),
      config('copy: { split_tables_larger_than: off }\n'),
    ]) {
      const p = plan(c, target);
      expect(p.actions.filter((a) => a.kind === 'copy_table' && a.part)).toEqual([]);
      // one read-back per whole table, of its one unit
      expect(
        p.actions.filter((a) => a.kind === 'read_back').map((a) => (a.kind === 'read_back' ? a.units : [])),
      ).toEqual([['copy We"ird.select'], ['copy public.patients'], ['copy public.sessions']]);
    }
  });

  it('resumes with the parts its checkpoints were made with, whatever the threshold says now', () => {
    const cp = (unit: string, status: string, rows: number) => ({
      unit,
      tableSchema: 'public',
      tableName: 'patients',
      status,
      rowsCopied: rows,
      bytesCopied: 0,
      lastKey: status === 'done' ? null : { columns: ['id'], values: ['7'] },
      error: null,
      seconds: 2,
    });
    const state: StateSnapshot = {
      ...EMPTY_STATE,
      exists: true,
      serial: 'x',
      checkpoints: [cp('copy public.patients [1/3]', 'done', 300), cp('copy public.patients [2/3]', 'running', 100)],
    };
    const cfg = config('copy: { split_tables_larger_than: 8kB, parallel: 2 }\n');
    const p = computePlan({
      config: cfg,
      configHash: configHash(cfg),
      source: SOURCE,
      target: SOURCE,
      state,
      sourceDisplay: 's',
      targetDisplay: 't',
    });
    const parts = p.actions.filter((a) => a.kind === 'copy_table' && a.address.startsWith('copy public.patients'));
    expect(parts.map((a) => `${a.change} ${a.id}`)).toEqual([
      'resume copy public.patients [2/3]',
      'resume copy public.patients [3/3]',
    ]);
    expect(parts[0]?.reason).toBe('resume: 2 of 3 key ranges left, ~600 rows left');
    // the read-back sums all three parts' digests
    expect(p.actions.find((a) => a.kind === 'read_back' && a.table.name === 'patients')).toMatchObject({
      units: ['copy public.patients [1/3]', 'copy public.patients [2/3]', 'copy public.patients [3/3]'],
      dependsOn: ['copy public.patients [2/3]', 'copy public.patients [3/3]'],
    });
    expect(renderPlanText(p)).toMatch(/~ copy public\.patients: 3 parts\s+resume: 2 of 3 key ranges left/);
    expect(p.summary.resume).toBe(1);
  });
});
