/**
 * The pure parts of the catalog layer: creation order, fingerprint and the pre-16 view normalisation.
 */
import { describe, expect, it } from 'vitest';

import { fingerprint } from '../../src/catalog/fingerprint.js';
import { orderForCreate } from '../../src/catalog/order.js';
import type { CatalogObject, ObjectKind } from '../../src/catalog/types.js';
import { normalizeViewDefinitionPre16 } from '../../src/catalog/view-normalize.js';
import { placeholderSpec } from '../support/specs.js';

const PRE: ReadonlySet<ObjectKind> = new Set<ObjectKind>([
  'schema',
  'extension',
  'type',
  'function',
  'sequence',
  'table',
]);

function obj(kind: ObjectKind, address: string, dependsOn: string[] = [], definition = address): CatalogObject {
  return {
    kind,
    address,
    spec: placeholderSpec(kind),
    schema: null,
    name: address,
    table: null,
    phase: PRE.has(kind) ? 'pre-data' : 'post-data',
    createSql: [],
    definition,
    dependsOn,
    owner: null,
    acl: null,
  };
}

const addresses = (list: readonly CatalogObject[]): string[] => list.map((o) => o.address);

describe('orderForCreate', () => {
  const objects = [
    obj('comment', 'comment table s.a', ['table s.a']),
    obj('sequence_value', 'sequence_value s.q', ['sequence s.q']),
    obj(
      'constraint',
      'constraint s.b.b_a_fkey',
      ['table s.b', 'constraint s.a.a_pkey'],
      'FOREIGN KEY (a) REFERENCES s.a(id)',
    ),
    obj('constraint', 'constraint s.a.a_pkey', ['table s.a'], 'PRIMARY KEY (id)'),
    obj('constraint', 'constraint s.z.z_key', ['table s.z'], 'UNIQUE (id)'),
    obj('view', 'view s.v2', ['view s.v1']),
    obj('view', 'view s.v1', ['table s.a', 'function s.f()']),
    obj('index', 'index s.i', ['table s.a']),
    obj('table', 'table s.b', ['schema s', 'table s.a']),
    obj('table', 'table s.a', ['schema s', 'type s.t', 'sequence s.q']),
    obj('table', 'table s.z', ['schema s']),
    obj('sequence', 'sequence s.q', ['schema s']),
    obj('function', 'function s.f()', ['schema s', 'table s.a']),
    obj('type', 'type s.t', ['schema s']),
    obj('extension', 'extension e', ['schema s']),
    obj('schema', 'schema s'),
    obj('sequence_owner', 'sequence_owner s.q', ['sequence s.q', 'table s.a']),
    obj('trigger', 'trigger s.a.t', ['table s.a', 'function s.f()']),
    obj('rls', 'rls s.a', ['table s.a']),
    obj('policy', 'policy s.a.p', ['table s.a', 'rls s.a']),
    obj('materialized_view', 'materialized_view s.m', ['view s.v2']),
  ];

  it('puts pre-data first, dependencies before dependents, then kind order and address', () => {
    expect(addresses(orderForCreate(objects))).toEqual([
      'schema s',
      'extension e',
      'type s.t',
      'sequence s.q',
      'table s.a',
      'function s.f()', // needs table s.a (a SQL-standard body)
      'table s.b',
      'table s.z',
      'sequence_owner s.q',
      'constraint s.a.a_pkey',
      'constraint s.z.z_key', // unique before any foreign key
      'constraint s.b.b_a_fkey',
      'index s.i',
      'view s.v1',
      'view s.v2',
      'materialized_view s.m',
      'trigger s.a.t',
      'rls s.a',
      'policy s.a.p',
      'comment table s.a',
      'sequence_value s.q',
    ]);
  });

  it('does not depend on the input order', () => {
    const expected = addresses(orderForCreate(objects));
    expect(addresses(orderForCreate([...objects].reverse()))).toEqual(expected);
    const shuffled = [...objects].sort(
      (a, b) =>
        ((a.definition.length * 31 + a.address.length) % 7) - ((b.definition.length * 31 + b.address.length) % 7),
    );
    expect(addresses(orderForCreate(shuffled))).toEqual(expected);
  });

  it('breaks cycles deterministically instead of hanging', () => {
    const cyclic = [
      obj('view', 'view s.c', ['view s.a']),
      obj('view', 'view s.a', ['view s.b']),
      obj('view', 'view s.b', ['view s.c']),
      obj('view', 'view s.d', ['view s.b']),
      obj('table', 'table s.t', ['table s.t']), // a self-dependency is ignored
    ];
    const first = addresses(orderForCreate(cyclic));
    // the cycle a -> b -> c -> a is broken at its smallest member (view s.a); then b, c, d follow their deps
    expect(first).toEqual(['table s.t', 'view s.a', 'view s.c', 'view s.b', 'view s.d']);
    expect(addresses(orderForCreate([...cyclic].reverse()))).toEqual(first);
  });

  it('ignores dependencies on a later phase and on objects not given', () => {
    const list = [
      obj('function', 'function s.f()', ['view s.v', 'table s.missing']),
      obj('view', 'view s.v', ['function s.f()']),
    ];
    expect(addresses(orderForCreate(list))).toEqual(['function s.f()', 'view s.v']);
  });

  it('orders 20,000 objects quickly', () => {
    const many: CatalogObject[] = [obj('schema', 'schema s')];
    for (let i = 0; i < 5000; i++) {
      many.push(obj('table', `table s.t${i}`, ['schema s', ...(i > 0 ? [`table s.t${i - 1}`] : [])]));
      many.push(obj('constraint', `constraint s.t${i}.pk`, [`table s.t${i}`], 'PRIMARY KEY (id)'));
      many.push(obj('index', `index s.i${i}`, [`table s.t${i}`]));
      many.push(obj('view', `view s.v${i}`, [`table s.t${i}`, ...(i > 0 ? [`view s.v${i - 1}`] : [])]));
    }
    const start = Date.now();
    const ordered = orderForCreate(many);
    expect(ordered).toHaveLength(many.length);
    expect(Date.now() - start).toBeLessThan(2000);
  });
});

describe('fingerprint', () => {
  it('is a sha256 over sorted address/definition pairs, independent of order', () => {
    const a = [obj('schema', 'schema a', [], 'x'), obj('schema', 'schema b', [], 'y')];
    expect(fingerprint(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprint([...a].reverse())).toBe(fingerprint(a));
    expect(fingerprint([obj('schema', 'schema a', [], 'x'), obj('schema', 'schema b', [], 'z')])).not.toBe(
      fingerprint(a),
    );
    // the separator keeps address and definition apart
    expect(fingerprint([obj('schema', 'schema ab', [], 'c')])).not.toBe(
      fingerprint([obj('schema', 'schema a', [], 'bc')]),
    );
  });
});

describe('normalizeViewDefinitionPre16', () => {
  const cases: [string, string][] = [
    [
      ' SELECT t.a,\n    t.b AS "B"\n   FROM x.t\n  WHERE (t.a > 1)',
      ' SELECT a,\n    b AS "B"\n   FROM x.t\n  WHERE (a > 1)',
    ],
    // a sub-query keeps its qualifiers, also for the outer reference; a whole-row reference keeps its own
    [
      'SELECT t.a, t.*::x.t AS t FROM x.t WHERE (EXISTS ( SELECT 1 FROM x.u WHERE (u.a = t.a)))',
      'SELECT a, t.*::x.t AS t FROM x.t WHERE (EXISTS ( SELECT 1 FROM x.u WHERE (u.a = t.a)))',
    ],
    // a string that looks like a reference, a schema named like the alias (function, type, collation)
    [
      `SELECT t.a, t.f(t.a), NULL::t.typ, (t.b COLLATE t."C") FROM x.t t WHERE (t.b = 't.a'::text)`,
      `SELECT a, t.f(a), NULL::t.typ, (b COLLATE t."C") FROM x.t t WHERE (b = 't.a'::text)`,
    ],
    // quoted names
    [`SELECT "select"."from" FROM x."select"`, `SELECT "from" FROM x."select"`],
    [`SELECT s."from" FROM "We""ird"."select" s`, `SELECT "from" FROM "We""ird"."select" s`],
    // sub-query, CTE, function with ordinality
    ['SELECT sub.a FROM ( SELECT t.a FROM x.t) sub', 'SELECT a FROM ( SELECT t.a FROM x.t) sub'],
    [
      'WITH w AS ( SELECT t.a FROM x.t) SELECT w.a FROM w WHERE (w.a > 0)',
      'WITH w AS ( SELECT t.a FROM x.t) SELECT a FROM w WHERE (a > 0)',
    ],
    ['SELECT o.a FROM x.srf() WITH ORDINALITY o(a, n)', 'SELECT a FROM x.srf() WITH ORDINALITY o(a, n)'],
  ];
  it.each(cases)('rewrites %j', (input, expected) => {
    expect(normalizeViewDefinitionPre16(input)).toBe(expected);
  });

  it.each([
    'SELECT t.a FROM (x.t JOIN x.u USING (a))',
    'SELECT t.a FROM x.t, LATERAL unnest(t.c) z(z)',
    'SELECT t.a FROM x.t UNION SELECT u.a FROM x.u',
    'SELECT 1 AS one',
    "SELECT t.a FROM x.t WHERE (t.b = 'unterminated)",
    'SELECT t.a FROM ROWS FROM(x.f(), x.g()) r(a)',
  ])('leaves %j alone', (input) => {
    expect(normalizeViewDefinitionPre16(input)).toBe(input);
  });
});
