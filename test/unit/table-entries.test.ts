/**
 * tables.exclude and tables.overrides entries that name no table of the source: plan warns about each one
 * (TABLE_ENTRY_UNMATCHED), with the table it could mean when a close one exists. Entries that name a table, a
 * partition or a pattern with a match say nothing.
 */
import { placeholderSpec } from '../support/specs.js';
import { describe, expect, it } from 'vitest';
import type { Catalog, CatalogObject, TableInfo } from '../../src/catalog/types.js';
import { fingerprint } from '../../src/catalog/fingerprint.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { renderPlanText } from '../../src/cli/render/plan.js';
import { computePlan } from '../../src/plan/diff.js';
import { configHash } from '../../src/plan/config-hash.js';
import { EMPTY_STATE_SERIAL } from '../../src/state/snapshot.js';

function config(tables: string): Config {
  const r = parseConfig(
    `version: 1\nname: clinic\nsource:\n  url: postgres://app:pw@127.0.0.1:5432/clinic\ntarget:\n  url: postgres://postgres:pw@127.0.0.1:5433/postgres\ntables:\n${tables}`,
    'migration.yaml',
    {},
  );
  if (!r.config) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

const table = (schema: string, name: string, parent: TableInfo['parent'] = null): TableInfo => ({
  schema,
  name,
  address: `table ${schema}.${name}`,
  kind: 'table',
  parent,
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
  ],
  key: ['id'],
  keyKind: 'primary',
  estimatedRows: 10,
  estimatedBytes: 8192,
  hasTriggers: false,
});

const TABLES = [
  table('public', 'patients'),
  table('public', 'sessions'),
  table('public', 'appointments'),
  table('public', 'visits_2024', { schema: 'public', name: 'visits' }),
  table('public', 'visits'),
  table('We"ird', 'select'),
];
const objects: CatalogObject[] = [
  { kind: 'schema' as const, address: 'schema public', name: 'public', schema: null },
  { kind: 'schema' as const, address: 'schema We"ird', name: 'We"ird', schema: null },
  ...TABLES.map((t) => ({
    kind: 'table' as const,
    address: t.address,
    name: t.name,
    schema: t.schema,
    table: { schema: t.schema, name: t.name },
    dependsOn: [`schema ${t.schema}`],
  })),
].map((o) => ({
  table: null,
  phase: 'pre-data' as const,
  createSql: [`-- create ${o.address}`],
  definition: `def of ${o.address}`,
  dependsOn: [],
  owner: 'app',
  acl: null,
  spec: placeholderSpec(o.kind),
  ...o,
}));
const catalog = (objs: CatalogObject[], tables: TableInfo[]): Catalog => ({
  serverVersionNum: 150000,
  database: 'clinic',
  fingerprint: fingerprint(objs),
  objects: objs,
  tables,
});

function plan(cfg: Config) {
  return computePlan({
    config: cfg,
    configHash: configHash(cfg),
    source: catalog(objects, TABLES),
    target: catalog([], []),
    state: {
      exists: false,
      serial: EMPTY_STATE_SERIAL,
      objects: {},
      checkpoints: [],
      runs: [],
      lock: undefined,
      lastVerification: undefined,
    },
    sourceDisplay: 'app@127.0.0.1:5432/clinic',
    targetDisplay: 'postgres@127.0.0.1:5433/postgres',
  });
}

const unmatched = (cfg: Config) => plan(cfg).findings.filter((f) => f.code === 'TABLE_ENTRY_UNMATCHED');

describe('TABLE_ENTRY_UNMATCHED', () => {
  it('warns about each exclude and override entry that names no table, with the close name', () => {
    const cfg = config(
      [
        '  exclude: ["public.sesions", "audit.*", "public.sessions", "public.visits_*"]',
        '  overrides:',
        '    public.Patients: { batch_size: 10 }',
        '    public.appointment: { batch_size: 10 }',
        '    billing.invoices: { batch_size: 10 }',
        '    public.patients: { batch_size: 10 }',
        '    We"ird.select: { batch_size: 10 }',
        '',
      ].join('\n'),
    );
    const found = unmatched(cfg);
    expect(found.map((f) => [f.severity, f.message, f.hint])).toEqual([
      [
        'warning',
        'tables.exclude: "public.sesions" matches no table of the source, so it excludes nothing',
        'Did you mean "public.sessions"? Fix the name in migration.yaml, or remove the entry.',
      ],
      [
        'warning',
        'tables.exclude: "audit.*" matches no table of the source, so it excludes nothing',
        "No table of the source has a name close to it: fix the name in migration.yaml (the source's schema.table), or remove the entry.",
      ],
      [
        'warning',
        'tables.overrides: "public.Patients" names no table of the source, so its settings apply to nothing',
        'Did you mean "public.patients"? Fix the name in migration.yaml, or remove the entry.',
      ],
      [
        'warning',
        'tables.overrides: "public.appointment" names no table of the source, so its settings apply to nothing',
        'Did you mean "public.appointments"? Fix the name in migration.yaml, or remove the entry.',
      ],
      [
        'warning',
        'tables.overrides: "billing.invoices" names no table of the source, so its settings apply to nothing',
        "No table of the source has a name close to it: fix the name in migration.yaml (the source's schema.table), or remove the entry.",
      ],
    ]);
    // the plan's text view shows them with the other findings
    const text = renderPlanText(plan(cfg));
    expect(text).toContain('tables.exclude: "public.sesions" matches no table of the source');
    expect(text).toContain('Did you mean "public.sessions"?');
  });

  it('says nothing when every entry names a table (a partition, a hostile name, a pattern with a match)', () => {
    const cfg = config(
      '  exclude: ["public.visits_2024", "public.sess*"]\n  overrides:\n    We"ird.select: { batch_size: 10 }\n',
    );
    expect(unmatched(cfg)).toEqual([]);
    expect(unmatched(config('  include: ["public.*"]\n'))).toEqual([]);
  });
});
