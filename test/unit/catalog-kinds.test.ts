/**
 * Every object kind's module renders its create and its drop from typed fields (src/catalog/kinds/), with every
 * name quoted through src/db/ident.ts: hostile names round-trip, and the drop never reads an address or SQL text.
 */
import { describe, expect, it } from 'vitest';

import { KINDS, kindModule, render, type ObjectKind } from '../../src/catalog/kinds/registry.js';
import type { CatalogObject } from '../../src/catalog/types.js';
import { dropSql } from '../../src/destroy/drop-sql.js';

const WEIRD = 'We"ird Schema';
const t = { schema: WEIRD, name: 'select' };

const parts = <S>(
  schema: string | null,
  name: string,
  spec: S,
  table: { schema: string; name: string } | null = null,
) => ({ schema, name, table, spec });

describe('object kinds', () => {
  it('the registry has a module for every kind, each with its phase', () => {
    const kinds = Object.keys(KINDS).sort();
    expect(kinds).toEqual([
      'collation',
      'comment',
      'constraint',
      'extension',
      'function',
      'grant',
      'index',
      'materialized_view',
      'owner',
      'policy',
      'rls',
      'role',
      'schema',
      'sequence',
      'sequence_owner',
      'sequence_value',
      'table',
      'trigger',
      'type',
      'view',
    ]);
    for (const k of kinds) expect(['pre-data', 'post-data']).toContain(kindModule(k as ObjectKind).phase);
  });

  it('renders a collation by its provider, with its locale quoted as a literal and its name as an identifier', () => {
    const icu = render({
      kind: 'collation',
      ...parts(WEIRD, 'case "ci"', {
        provider: 'icu' as const,
        lcCollate: null,
        lcCtype: null,
        locale: "und-u-ks-level2'; DROP TABLE x; --",
        rules: '&a < b',
        deterministic: false,
      }),
    });
    expect(icu.createSql).toEqual([
      `CREATE COLLATION "We""ird Schema"."case ""ci""" (provider = icu, locale = 'und-u-ks-level2''; DROP TABLE x; --', rules = '&a < b', deterministic = false)`,
    ]);
    const libc = render({
      kind: 'collation',
      ...parts('s', 'c', {
        provider: 'libc' as const,
        lcCollate: 'C',
        lcCtype: 'POSIX',
        locale: null,
        rules: null,
        deterministic: true,
      }),
    });
    expect(libc.createSql).toEqual([
      `CREATE COLLATION "s"."c" (provider = libc, lc_collate = 'C', lc_ctype = 'POSIX')`,
    ]);
    expect(kindModule('collation').drop(parts(WEIRD, 'case "ci"', {}))).toEqual([
      'DROP COLLATION IF EXISTS "We""ird Schema"."case ""ci"""',
    ]);
  });

  it('drops a routine by its argument types and a comment by what it names, never from an address or text', () => {
    const fn = parts(WEIRD, 'f"n', {
      routine: 'function',
      argTypes: 'integer, text',
      identityArgs: 'a integer, b text',
      language: 'sql',
      searchPath: null,
      body: 'CREATE FUNCTION ...',
      aggregate: null,
    } as const);
    expect(KINDS.function.drop(fn)).toEqual(['DROP ROUTINE IF EXISTS "We""ird Schema"."f""n"(integer, text)']);
    const comment = parts(
      WEIRD,
      'table x',
      { target: { on: 'CONSTRAINT', name: 'c.k', relation: t }, text: "it's" } as const,
      t,
    );
    expect(KINDS.comment.create(comment)).toEqual([
      'COMMENT ON CONSTRAINT "c.k" ON "We""ird Schema"."select" IS \'it\'\'s\'',
    ]);
    expect(KINDS.comment.drop(comment)).toEqual(['COMMENT ON CONSTRAINT "c.k" ON "We""ird Schema"."select" IS NULL']);
    const column = parts(
      WEIRD,
      'column x',
      { target: { on: 'COLUMN', relation: t, name: 'Mixed Col' }, text: '' } as const,
      t,
    );
    expect(KINDS.comment.drop(column)).toEqual(['COMMENT ON COLUMN "We""ird Schema"."select"."Mixed Col" IS NULL']);
  });

  it('renders and drops table-bound kinds through the table they hang off', () => {
    expect(
      KINDS.policy.create(
        parts(
          WEIRD,
          'own "rows"',
          {
            permissive: false,
            command: 'SELECT',
            toPublic: true,
            roles: ['we"ird'],
            using: '(id > 0)',
            withCheck: null,
          } as const,
          t,
        ),
      ),
    ).toEqual([
      'CREATE POLICY "own ""rows""" ON "We""ird Schema"."select" AS RESTRICTIVE FOR SELECT TO PUBLIC, "we""ird" USING ((id > 0))',
    ]);
    expect(
      KINDS.policy.drop(
        parts(
          WEIRD,
          'p',
          { permissive: true, command: 'ALL', toPublic: false, roles: [], using: null, withCheck: null } as const,
          t,
        ),
      ),
    ).toEqual(['DROP POLICY IF EXISTS "p" ON "We""ird Schema"."select"']);
    expect(
      KINDS.trigger.drop(parts(WEIRD, 'tr', { def: 'CREATE TRIGGER ...', enabled: 'DISABLE' } as const, t)),
    ).toEqual(['DROP TRIGGER IF EXISTS "tr" ON "We""ird Schema"."select"']);
    expect(
      KINDS.constraint.create(
        parts(
          WEIRD,
          'select_pkey',
          { def: 'PRIMARY KEY (id)', replicaIdentityIndex: 'select_pkey', usingIndex: null },
          t,
        ),
      ),
    ).toEqual([
      'ALTER TABLE "We""ird Schema"."select" ADD CONSTRAINT "select_pkey" PRIMARY KEY (id)',
      'ALTER TABLE ONLY "We""ird Schema"."select" REPLICA IDENTITY USING INDEX "select_pkey"',
    ]);
    // a primary key built as its unique index first (beside the table's other builds), then attached
    const usingIndex = {
      def: 'CREATE UNIQUE INDEX "sel""pk" ON "We""ird Schema"."select" USING btree (id)',
      type: 'PRIMARY KEY',
    } as const;
    const pk = parts(WEIRD, 'sel"pk', { def: 'PRIMARY KEY (id)', replicaIdentityIndex: null, usingIndex }, t);
    expect(KINDS.constraint.create(pk)).toEqual([
      'CREATE UNIQUE INDEX "sel""pk" ON "We""ird Schema"."select" USING btree (id)',
      'ALTER TABLE "We""ird Schema"."select" ADD CONSTRAINT "sel""pk" PRIMARY KEY USING INDEX "sel""pk"',
    ]);
    expect(KINDS.constraint.lockMode?.(pk)).toBe('attach');
    // the same constraint whichever way it is built
    expect(KINDS.constraint.definition(pk)).toBe(
      KINDS.constraint.definition({ ...pk, spec: { ...pk.spec, usingIndex: null } }),
    );
    expect(KINDS.constraint.lockMode?.({ ...pk, spec: { ...pk.spec, usingIndex: null } })).toBeUndefined();
    const ix = (replicaIdentity: boolean) =>
      parts(WEIRD, 'i', { def: 'CREATE INDEX i ON x USING btree (a)', replicaIdentity }, t);
    expect([KINDS.index.lockMode?.(ix(false)), KINDS.index.lockMode?.(ix(true))]).toEqual(['shared', 'attach']);
    expect(KINDS.rls.drop(parts(WEIRD, 'select', { enable: true, force: true }, t))).toEqual([
      'ALTER TABLE IF EXISTS "We""ird Schema"."select" NO FORCE ROW LEVEL SECURITY',
      'ALTER TABLE IF EXISTS "We""ird Schema"."select" DISABLE ROW LEVEL SECURITY',
    ]);
  });

  it('renders a table from its columns, checks and fixups, and only creates RLS when asked', () => {
    const spec = {
      unlogged: false,
      partitionOf: null,
      inherits: [{ schema: 'app', name: 'base' }],
      columns: [
        {
          name: 'id',
          type: 'bigint',
          collation: null,
          generated: null,
          identity: { always: true, sequence: { schema: WEIRD, name: 's', options: 'START WITH 1' } },
          default: null,
          notNull: true,
          local: true,
        },
        {
          name: 'note',
          type: 'text',
          collation: { schema: 'pg_catalog', name: 'C' },
          generated: null,
          identity: null,
          default: "'x'::text",
          notNull: false,
          local: false,
        },
      ],
      checks: [{ name: 'ok', def: 'CHECK ((id > 0))' }],
      partitionBy: null,
      accessMethod: null,
      reloptions: ['fillfactor=70'],
      fixups: [{ column: 'note', set: 'no default' as const }],
      replicaIdentity: 'FULL' as const,
      enableRls: true,
    };
    const r = render({ kind: 'table', spec, schema: WEIRD, name: 'select', table: null });
    expect(r.createSql).toEqual([
      'CREATE TABLE "We""ird Schema"."select" (\n    "id" bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME "We""ird Schema"."s" START WITH 1) NOT NULL,\n    CONSTRAINT "ok" CHECK ((id > 0))\n) INHERITS ("app"."base") WITH ("fillfactor"=\'70\')',
      'ALTER TABLE ONLY "We""ird Schema"."select" ALTER COLUMN "note" DROP DEFAULT',
      'ALTER TABLE ONLY "We""ird Schema"."select" REPLICA IDENTITY FULL',
      'ALTER TABLE "We""ird Schema"."select" ENABLE ROW LEVEL SECURITY',
    ]);
    // RLS added for the target is not part of what is compared
    expect(r.definition).not.toContain('ROW LEVEL SECURITY');
    expect(r.definition).toContain('  column "note" text COLLATE "pg_catalog"."C" DEFAULT \'x\'::text (inherited)');
  });

  it('dropSql asks the kind, which reads the typed fields (never the address or the SQL text)', () => {
    const base = {
      address: 'sequence s.q',
      schema: 's',
      name: 'q',
      table: null,
      phase: 'pre-data',
      dependsOn: [],
      owner: null,
      acl: null,
    } as const;
    const seq: CatalogObject = {
      ...base,
      kind: 'sequence',
      spec: {
        unlogged: false,
        type: 'bigint',
        start: '1',
        increment: '1',
        min: '1',
        max: '9',
        cache: '1',
        cycle: false,
      },
      createSql: [],
      definition: '',
    };
    expect(dropSql(seq)).toEqual(['DROP SEQUENCE IF EXISTS "s"."q"']);
    expect(dropSql({ ...seq, kind: 'sequence_value', spec: { last: '5', called: true } })).toEqual([]);
    const fn: CatalogObject = {
      ...base,
      address: 'function s.q(integer)',
      kind: 'function',
      spec: {
        routine: 'function',
        argTypes: 'integer',
        identityArgs: 'n integer',
        language: 'sql',
        searchPath: null,
        body: null,
        aggregate: null,
      },
      createSql: ['-- given as is'],
      definition: 'DROP nothing: not read',
    };
    expect(dropSql(fn)).toEqual(['DROP ROUTINE IF EXISTS "s"."q"(integer)']);
  });
});
