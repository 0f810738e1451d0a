/**
 * test/support/load-sql.ts: the psql subset that loads the real sample databases (pagila, chinook, northwind)
 * unmodified with only Node. Unit cases for the splitter, then loads into fresh databases on the real
 * PostgreSQL 15 source server, checked against facts of the files.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freshDatabases, withPg } from '../support/databases.js';
import type { FreshDatabases } from '../support/databases.js';
import { fixturesDir } from '../support/fixtures.js';
import { LoadSqlError, loadSqlFile, loadSqlText, splitStatements } from '../support/load-sql.js';
import type { ScriptItem } from '../support/load-sql.js';

const sqlOf = (items: ScriptItem[]): string[] => items.map((i) => (i.kind === 'meta' ? i.text : i.sql));

describe('splitStatements', () => {
  it('keeps a ; inside $$ and $tag$ bodies, and tells $1 from a dollar quote', () => {
    const text = [
      'CREATE FUNCTION a() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;',
      'CREATE FUNCTION b() RETURNS int AS $_$ SELECT $$;$$::int; $_$ LANGUAGE sql;',
      "CREATE FUNCTION c() RETURNS text AS $body$ BEGIN RETURN '$x$;'; END $body$ LANGUAGE plpgsql;",
      'PREPARE p AS SELECT $1::int; SELECT 2',
    ].join('\n');
    const items = splitStatements(text);
    expect(sqlOf(items)).toEqual([
      'CREATE FUNCTION a() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql',
      'CREATE FUNCTION b() RETURNS int AS $_$ SELECT $$;$$::int; $_$ LANGUAGE sql',
      "CREATE FUNCTION c() RETURNS text AS $body$ BEGIN RETURN '$x$;'; END $body$ LANGUAGE plpgsql",
      'PREPARE p AS SELECT $1::int',
      'SELECT 2', // the last statement runs without its ; as psql does
    ]);
    expect(items.map((i) => i.line)).toEqual([1, 2, 3, 4, 4]);
  });

  it('skips -- and nested /* */ comments, and reports the line of the first significant character', () => {
    const text =
      '-- a; comment\n/* outer; /* inner; */ still; comment */\nSELECT 1 /* mid; */ + 1; -- tail;\n\n  SELECT 2;';
    const items = splitStatements(text);
    expect(sqlOf(items)).toEqual(['SELECT 1 /* mid; */ + 1', 'SELECT 2']);
    expect(items.map((i) => i.line)).toEqual([3, 5]);
  });

  it("reads '' escapes, E'\\'' strings and \"quoted;identifiers\"", () => {
    const text =
      "SELECT 'it''s; fine';\nSELECT E'\\'; still\\\\';\nSELECT e'\\\\';\nSELECT 1 AS \"a;\"\"b\";\nSELECT 'a\\';";
    expect(sqlOf(splitStatements(text))).toEqual([
      "SELECT 'it''s; fine'",
      "SELECT E'\\'; still\\\\'",
      "SELECT e'\\\\'",
      'SELECT 1 AS "a;""b"',
      "SELECT 'a\\'", // a plain string: the backslash is a character (standard_conforming_strings)
    ]);
    // N'…' (chinook) and a name ending in e before a quote are plain strings
    expect(sqlOf(splitStatements("INSERT INTO t VALUES (N'302 S 700 E', 'x');SELECT name'\\';"))).toEqual([
      "INSERT INTO t VALUES (N'302 S 700 E', 'x')",
      "SELECT name'\\'",
    ]);
  });

  it('does not end a statement at a ; in parentheses or in a BEGIN ATOMIC body', () => {
    const text =
      'CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND;\nSELECT 3;';
    expect(sqlOf(splitStatements(text))).toEqual([
      'CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND',
      'SELECT 3',
    ]);
  });

  it('takes COPY … FROM stdin data verbatim up to the \\. line, then goes on', () => {
    const data = 'a\\tb\tc;d\n\\N\t$$\n-- not a comment\t/* nor this */\n\\\\.\tü 😀\n';
    const text = `SET x = 1;\nCOPY public.t (a, b) FROM stdin;\n${data}\\.\nSELECT 'after';\n`;
    const items = splitStatements(text);
    expect(items).toEqual([
      { kind: 'sql', sql: 'SET x = 1', line: 1 },
      { kind: 'copy', sql: 'COPY public.t (a, b) FROM stdin', line: 2, data, dataLine: 3 },
      { kind: 'sql', sql: "SELECT 'after'", line: 8 },
    ]);
    // an empty block, CRLF line ends and a lower-case "from STDIN"
    expect(splitStatements('copy t from STDIN;\r\n\\.\r\nSELECT 1;')).toEqual([
      { kind: 'copy', sql: 'copy t from STDIN', line: 1, data: '', dataLine: 2 },
      { kind: 'sql', sql: 'SELECT 1', line: 3 },
    ]);
  });

  it('reads meta-commands on their own lines', () => {
    const items = splitStatements('\\set ON_ERROR_STOP on\nSELECT 1;\n\\c chinook;\n  \\connect "My DB"\n');
    expect(items).toEqual([
      { kind: 'meta', command: 'set', args: 'ON_ERROR_STOP on', text: '\\set ON_ERROR_STOP on', line: 1 },
      { kind: 'sql', sql: 'SELECT 1', line: 2 },
      { kind: 'meta', command: 'c', args: 'chinook;', text: '\\c chinook;', line: 3 },
      { kind: 'meta', command: 'connect', args: '"My DB"', text: '\\connect "My DB"', line: 4 },
    ]);
  });

  it('names the line of what it cannot read', () => {
    expect(() => splitStatements("SELECT 1;\nSELECT 'open", 'x.sql')).toThrow(/^x\.sql:2: unterminated quoted string/);
    expect(() => splitStatements('SELECT 1;\n\n/* open /* */', 'x.sql')).toThrow(
      /^x\.sql:3: unterminated \/\* comment/,
    );
    expect(() => splitStatements('SELECT $a$ 1;', 'x.sql')).toThrow(
      /^x\.sql:1: unterminated dollar-quoted string \$a\$/,
    );
    expect(() => splitStatements('SELECT 1\n\\c other\n;', 'x.sql')).toThrow(
      /^x\.sql:2: a psql meta-command inside a statement/,
    );
    expect(() => splitStatements('COPY t FROM stdin; SELECT 1;\n\\.\n', 'x.sql')).toThrow(
      /^x\.sql:1: text after "COPY … FROM stdin;"/,
    );
  });
});

describe('loadSqlText against a real server', () => {
  let dbs: FreshDatabases;
  beforeAll(async () => {
    dbs = await freshDatabases('load_sql_text');
  });
  afterAll(async () => {
    await dbs?.drop();
  });

  it('streams COPY data byte for byte (tabs, backslash escapes, unicode, NULL)', async () => {
    const text = [
      'CREATE TABLE exact (id int, t text, b bytea);',
      'COPY exact (id, t, b) FROM stdin;',
      '1\ta\\tb\\\\c\\nd\t\\\\x00ff',
      '2\tü 😀 ;$$ -- /*\t\\N',
      '3\t\\N\t\\\\x',
      '\\.',
      "INSERT INTO exact VALUES (4, E'it\\'s', NULL);",
      '',
    ].join('\n');
    await loadSqlText(dbs.sourceUrl, text, { source: 'exact.sql' });
    const rows = await withPg(
      dbs.sourceUrl,
      async (c) =>
        (await c.query<{ id: number; t: string | null; b: Buffer | null }>('SELECT id, t, b FROM exact ORDER BY id'))
          .rows,
    );
    expect(rows).toEqual([
      { id: 1, t: 'a\tb\\c\nd', b: Buffer.from([0x00, 0xff]) },
      { id: 2, t: 'ü 😀 ;$$ -- /*', b: null },
      { id: 3, t: null, b: Buffer.alloc(0) },
      { id: 4, t: "it's", b: null },
    ]);
  });

  it('stops at the first error with the source, the statement line and the server message', async () => {
    const text =
      'CREATE TABLE before_error (a int);\n\n-- comment\nSELECT\n  no_such_column\nFROM before_error;\nCREATE TABLE after_error (a int);\n';
    const err = await loadSqlText(dbs.sourceUrl, text, { source: 'bad.sql' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoadSqlError);
    const e = err as LoadSqlError;
    expect(e.line).toBe(4);
    expect(e.code).toBe('42703');
    expect(e.message).toMatch(/^bad\.sql:4: column "no_such_column" does not exist \(SQLSTATE 42703\); at line 5/);
    const tables = await withPg(dbs.sourceUrl, async (c) =>
      (
        await c.query<{ relname: string }>(
          "SELECT relname FROM pg_class WHERE relname IN ('before_error', 'after_error')",
        )
      ).rows.map((r) => r.relname),
    );
    expect(tables).toEqual(['before_error']);
  });

  it('names the data line of a bad COPY row', async () => {
    const text = 'CREATE TABLE copy_err (a int);\nCOPY copy_err FROM stdin;\n1\n2\nthree\n\\.\n';
    await expect(loadSqlText(dbs.sourceUrl, text, { source: 'copy.sql' })).rejects.toThrow(
      /^copy\.sql:2: invalid input syntax for type integer: "three" \(SQLSTATE 22P02\); in COPY data at line 5/,
    );
  });

  it('ignores \\set, \\pset, \\echo, \\encoding and rejects other meta-commands by line', async () => {
    await loadSqlText(
      dbs.sourceUrl,
      '\\set ON_ERROR_STOP 1\n\\pset pager off\n\\echo hi\n\\encoding UTF8\nSELECT 1;\n',
    );
    await expect(loadSqlText(dbs.sourceUrl, 'SELECT 1;\n\\i other.sql\n', { source: 'm.sql' })).rejects.toThrow(
      /^m\.sql:2: unsupported psql meta-command: \\i other\.sql$/,
    );
    await expect(loadSqlText(dbs.sourceUrl, '\\c a b\n', { source: 'm.sql' })).rejects.toThrow(
      /^m\.sql:1: unsupported form of \\c a b/,
    );
  });

  it('\\c switches databases on the same server; renamed databases are not dropped or created', async () => {
    const text = [
      'DROP DATABASE IF EXISTS sample;',
      'CREATE DATABASE sample;',
      '\\c sample;',
      'CREATE TABLE in_sample (a int);',
      'INSERT INTO in_sample VALUES (1);',
      '',
    ].join('\n');
    // starts on the admin database (postgres), as the chinook script expects, then \c moves to the test database
    await loadSqlText(dbs.sourceAdminUrl, text, { databaseRenames: { sample: dbs.name } });
    const count = await withPg(
      dbs.sourceUrl,
      async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM in_sample')).rows[0]?.n,
    );
    expect(count).toBe(1);
    const sampleExists = await withPg(
      dbs.sourceAdminUrl,
      async (c) => (await c.query("SELECT 1 FROM pg_database WHERE datname = 'sample'")).rowCount,
    );
    expect(sampleExists).toBe(0);
    await expect(
      loadSqlText(dbs.sourceUrl, 'ALTER DATABASE sample SET work_mem = 1024;', {
        databaseRenames: { sample: dbs.name },
      }),
    ).rejects.toThrow(/statement names renamed database "sample"/);
    await expect(loadSqlText(dbs.sourceUrl, 'SELECT 1;\n\\c t_no_such_db_here\n', { source: 'c.sql' })).rejects.toThrow(
      /^c\.sql:2: could not connect to database "t_no_such_db_here"/,
    );
  });
});

/* ------------------------------------------------------------------------------------------------ */

const fixtures = fixturesDir();
const realdb = fixtures ? path.join(fixtures, 'realdb') : null;
const haveRealdb = realdb !== null && fs.existsSync(realdb);
if (!haveRealdb) {
  console.warn(
    `load-sql.test.ts: the real sample databases are absent (${realdb ?? 'no fixtures directory'}); the pagila/chinook/northwind loads are SKIPPED. ` +
      'Set PGSHIFT_FIXTURES_DIR to the directory that holds realdb/.',
  );
}
const fixture = (...parts: string[]): string => path.join(realdb as string, ...parts);

async function timed(label: string, fn: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  await fn();
  console.log(`load-sql: ${label} loaded in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

async function counts(url: string, tables: string[]): Promise<Record<string, number>> {
  return withPg(url, async (c) => {
    const out: Record<string, number> = {};
    for (const t of tables)
      out[t] = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM public.${t}`)).rows[0]?.n);
    return out;
  });
}

describe.skipIf(!haveRealdb)(
  haveRealdb
    ? 'real sample databases, loaded unmodified into PostgreSQL 15'
    : 'real sample databases: SKIPPED, fixtures absent (set PGSHIFT_FIXTURES_DIR)',
  () => {
    const made: FreshDatabases[] = [];
    afterAll(async () => {
      await Promise.all(made.map((d) => d.drop()));
    });
    const fresh = async (label: string): Promise<FreshDatabases> => {
      const d = await freshDatabases(label);
      made.push(d);
      return d;
    };

    it('pagila: schema then data', { timeout: 300_000 }, async () => {
      const db = await fresh('load_pagila');
      await timed('pagila (schema + data)', async () => {
        await loadSqlFile(db.sourceUrl, fixture('pagila', 'pagila-schema.sql'));
        await loadSqlFile(db.sourceUrl, fixture('pagila', 'pagila-data.sql'));
      });
      expect(await counts(db.sourceUrl, ['actor', 'film', 'rental', 'payment'])).toEqual({
        actor: 200,
        film: 1000,
        rental: 16044,
        payment: 16049,
      });
      await withPg(db.sourceUrl, async (c) => {
        const parts = await c.query<{ n: number; rows: string }>(
          `SELECT count(*)::int AS n,
                  sum((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %s', i.inhrelid::regclass), false, true, '')))[1]::text::bigint)::text AS rows
             FROM pg_inherits i WHERE i.inhparent = 'public.payment'::regclass`,
        );
        expect(parts.rows[0]).toEqual({ n: 7, rows: '16049' });
        const partitioned = await c.query(
          "SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'public.payment'::regclass",
        );
        expect(partitioned.rowCount).toBe(1);
        const mv = await c.query<{ ispopulated: boolean }>(
          "SELECT ispopulated FROM pg_matviews WHERE schemaname = 'public' AND matviewname = 'rental_by_category'",
        );
        expect(mv.rows).toEqual([{ ispopulated: false }]);
        // non-ASCII and escaped bytes survived COPY: the domain with a dotless-i name, the fulltext column
        const dom = await c.query("SELECT 1 FROM pg_type WHERE typname = 'bıgınt' AND typtype = 'd'");
        expect(dom.rowCount).toBe(1);
        const ft = await c.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM public.film WHERE fulltext IS NOT NULL',
        );
        expect(ft.rows[0]?.n).toBe(1000);
        // the 15 CREATE TRIGGER statements of the schema file, and the sequences set by the data file
        const trg = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_trigger WHERE NOT tgisinternal');
        expect(trg.rows[0]?.n).toBe(15);
        const seq = await c.query<{ last_value: string }>('SELECT last_value FROM public.rental_rental_id_seq');
        expect(seq.rows[0]?.last_value).toBe('16049');
      });
    });

    it(
      'chinook: DROP/CREATE DATABASE chinook + \\c chinook, renamed to the test database',
      { timeout: 300_000 },
      async () => {
        const db = await fresh('load_chinook');
        await timed('chinook', () =>
          loadSqlFile(db.sourceUrl, fixture('chinook', 'Chinook_PostgreSql.sql'), {
            databaseRenames: { chinook: db.name },
          }),
        );
        expect(await counts(db.sourceUrl, ['artist', 'album', 'track'])).toEqual({
          artist: 275,
          album: 347,
          track: 3503,
        });
        const stray = await withPg(
          db.sourceAdminUrl,
          async (c) => (await c.query("SELECT 1 FROM pg_database WHERE datname = 'chinook'")).rowCount,
        );
        expect(stray).toBe(0);
      },
    );

    it('northwind', { timeout: 300_000 }, async () => {
      const db = await fresh('load_northwind');
      await timed('northwind', () => loadSqlFile(db.sourceUrl, fixture('northwind', 'northwind.sql')));
      expect(await counts(db.sourceUrl, ['customers', 'orders', 'products'])).toEqual({
        customers: 91,
        orders: 830,
        products: 77,
      });
      const name = await withPg(
        db.sourceUrl,
        async (c) =>
          (await c.query<{ company_name: string }>("SELECT company_name FROM customers WHERE customer_id = 'KOENE'"))
            .rows[0]?.company_name,
      );
      expect(name).toBe('Königlich Essen');
    });
  },
);
