/**
 * Typed fields for hand-written catalog objects (unit tests, benchmarks) whose SQL a test gives itself: every
 * CatalogObject carries its kind's `spec`, and an object built by hand for ordering, fingerprints or planning needs
 * one that type-checks. These are the smallest valid fields of each kind; a test that renders or maps SQL from an
 * object builds the fields it means instead (see test/unit/catalog-kinds.test.ts).
 */
import type { ObjectKind, SpecOf } from '../../src/catalog/kinds/registry.js';
import type { ObjectSpec } from '../../src/catalog/types.js';

const nowhere = { schema: 's', name: 'x' };

const SPECS: { readonly [K in ObjectKind]?: SpecOf<K> } = {
  schema: {},
  extension: { createSchema: false },
  type: { variant: 'enum', labels: [] },
  function: {
    routine: 'function',
    argTypes: '',
    identityArgs: '',
    language: 'sql',
    searchPath: null,
    body: null,
    aggregate: null,
  },
  sequence: {
    unlogged: false,
    type: 'bigint',
    start: '1',
    increment: '1',
    min: '1',
    max: '9223372036854775807',
    cache: '1',
    cycle: false,
  },
  table: {
    unlogged: false,
    partitionOf: null,
    inherits: [],
    columns: [],
    checks: [],
    partitionBy: null,
    accessMethod: null,
    reloptions: null,
    fixups: [],
    replicaIdentity: null,
    enableRls: false,
  },
  sequence_owner: { column: 'id' },
  constraint: { def: 'PRIMARY KEY (id)', replicaIdentityIndex: null, usingIndex: null },
  index: { def: 'CREATE INDEX x ON s.x USING btree (id)', replicaIdentity: false },
  trigger: { def: 'CREATE TRIGGER x AFTER INSERT ON s.x FOR EACH ROW EXECUTE FUNCTION s.f()', enabled: null },
  view: { reloptions: null, query: ' SELECT 1', canonicalQuery: null, populated: false, revokeFrom: [] },
  materialized_view: { reloptions: null, query: ' SELECT 1', canonicalQuery: null, populated: true, revokeFrom: [] },
  policy: { permissive: true, command: 'ALL', toPublic: true, roles: [], using: 'true', withCheck: null },
  rls: { enable: true, force: false },
  comment: { target: { on: 'TABLE', object: nowhere }, text: '' },
  sequence_value: { last: '1', called: false },
  role: { grantToCurrentUser: false },
  grant: { privileges: ['SELECT'], on: { on: 'TABLE', ...nowhere }, grantee: 'app' },
  owner: { on: { on: 'TABLE', ...nowhere }, role: 'app' },
};

/** The smallest valid typed fields of `kind`. */
export function placeholderSpec(kind: ObjectKind): ObjectSpec {
  const spec = SPECS[kind];
  if (spec === undefined) throw new Error(`test/support/specs.ts has no placeholder fields for kind ${kind}`);
  return spec;
}
