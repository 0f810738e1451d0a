import { describe, expect, it } from 'vitest';
import { rewriteSchemaRefs, type SchemaRule } from '../../src/mapping/rewrite.js';

/** public.<extension function> -> extensions, as the extension mapping does */
const EXT = new Set(['uuid_generate_v4', 'gen_random_uuid', 'crypt', 'gen_salt', 'we"ird fn']);
const ext: SchemaRule = (schema, name) => (schema === 'public' && name !== null && EXT.has(name) ? 'extensions' : null);

/** every reference to schema auth (and auth itself after SCHEMA) -> app_auth, as schemas.map does */
const auth: SchemaRule = (schema) => (schema === 'auth' ? 'app_auth' : null);

describe('rewriteSchemaRefs', () => {
  it('rewrites a column default, keeping everything else byte for byte', () => {
    const r = rewriteSchemaRefs('public.uuid_generate_v4()', ext);
    expect(r.sql).toBe('extensions.uuid_generate_v4()');
    expect(r.rewrites).toEqual([{ from: 'public.uuid_generate_v4', to: 'extensions.uuid_generate_v4' }]);
  });

  it('resolves quoted and unquoted names as the server does', () => {
    expect(rewriteSchemaRefs('"public"."uuid_generate_v4"()', ext).sql).toBe('"extensions"."uuid_generate_v4"()');
    expect(rewriteSchemaRefs('PUBLIC.UUID_GENERATE_V4()', ext).sql).toBe('extensions.UUID_GENERATE_V4()');
    // quoted names keep their case: "Public" is another schema, "UUID_GENERATE_V4" another function
    expect(rewriteSchemaRefs('"Public".uuid_generate_v4(), public."UUID_GENERATE_V4"()', ext).rewrites).toEqual([]);
    expect(rewriteSchemaRefs("public . crypt(x, public.gen_salt('bf'))", ext).sql).toBe(
      "extensions . crypt(x, extensions.gen_salt('bf'))",
    );
    expect(rewriteSchemaRefs('public."we""ird fn"(1)', ext).sql).toBe('extensions."we""ird fn"(1)');
  });

  it('never touches string literals, escape strings or comments', () => {
    const sql = `SELECT 'public.uuid_generate_v4()', E'it\\'s public.crypt(', U&'public.crypt' -- public.crypt(x)
      /* outer /* nested public.crypt */ still a comment public.crypt */ , 'a''public.crypt''b'`;
    const r = rewriteSchemaRefs(sql, ext);
    expect(r.sql).toBe(sql);
    expect(r.rewrites).toEqual([]);
    const after = rewriteSchemaRefs(`E'\\\\' || public.crypt('x', 'y')`, ext);
    expect(after.sql).toBe(`E'\\\\' || extensions.crypt('x', 'y')`);
  });

  it('rewrites inside routine bodies (dollar quotes) but not the literals within them', () => {
    const fn = `CREATE OR REPLACE FUNCTION "app"."new id"()
 RETURNS uuid
 LANGUAGE plpgsql
AS $function$
begin
  raise notice 'calling public.uuid_generate_v4()'; -- public.uuid_generate_v4
  return public.uuid_generate_v4();
end
$function$`;
    const r = rewriteSchemaRefs(fn, ext);
    expect(r.sql).toBe(fn.replace('return public.', 'return extensions.'));
    expect(r.rewrites).toHaveLength(1);
    expect(rewriteSchemaRefs('$$select public.crypt($1, $2)$$', ext).sql).toBe('$$select extensions.crypt($1, $2)$$');
  });

  it('leaves names that only look qualified: numbers, dotted quoted names, columns of an alias, later chain parts', () => {
    for (const sql of ['1.5 + public.x', '"public.crypt"(1)', 'x.public.crypt', '3.e10', 't.crypt', '$1.crypt']) {
      expect(rewriteSchemaRefs(sql, ext).rewrites, sql).toEqual([]);
    }
  });

  it('maps a schema everywhere it is named, including after SCHEMA and in casts and index expressions', () => {
    expect(rewriteSchemaRefs('CREATE SCHEMA IF NOT EXISTS "auth"', auth).sql).toBe(
      'CREATE SCHEMA IF NOT EXISTS "app_auth"',
    );
    expect(rewriteSchemaRefs("COMMENT ON SCHEMA auth IS 'auth.users'", auth).sql).toBe(
      "COMMENT ON SCHEMA app_auth IS 'auth.users'",
    );
    expect(
      rewriteSchemaRefs(
        "CREATE INDEX i ON auth.users USING btree (lower((email)::text)) WHERE (kind = 'a'::auth.kind)",
        auth,
      ).sql,
    ).toBe("CREATE INDEX i ON app_auth.users USING btree (lower((email)::text)) WHERE (kind = 'a'::app_auth.kind)");
    expect(rewriteSchemaRefs('"auth"."we""ird"."col"', auth).sql).toBe('"app_auth"."we""ird"."col"');
    // a schema named like a keyword, with quotes in its name
    const hostile: SchemaRule = (s) => (s === 'sel"ect' ? 'new"one' : null);
    expect(rewriteSchemaRefs('SELECT "sel""ect"."t"."c" FROM "sel""ect"."t"', hostile).sql).toBe(
      'SELECT "new""one"."t"."c" FROM "new""one"."t"',
    );
    // unicode names
    const uni: SchemaRule = (s) => (s === 'médecins' ? 'ärzte' : null);
    expect(rewriteSchemaRefs('médecins.patients', uni).sql).toBe('"ärzte".patients');
    // an unquoted name that becomes a reserved word is quoted
    const kw: SchemaRule = (s) => (s === 'app' ? 'select' : null);
    expect(rewriteSchemaRefs('app.t, "app".t', kw).sql).toBe('"select".t, "select".t');
  });

  it("rewrites a literal cast to a reg* type ('auth.users_id_seq'::regclass), which names an object", () => {
    expect(rewriteSchemaRefs("nextval('auth.users_id_seq'::regclass)", auth).sql).toBe(
      "nextval('app_auth.users_id_seq'::regclass)",
    );
    expect(rewriteSchemaRefs(`nextval('"auth"."it''s"'::regclass)`, auth).sql).toBe(
      `nextval('"app_auth"."it''s"'::regclass)`,
    );
    expect(rewriteSchemaRefs("'auth.users' :: pg_catalog.regclass, 'auth.users'::text", auth).sql).toBe(
      "'app_auth.users' :: pg_catalog.regclass, 'auth.users'::text",
    );
  });

  it('rewrites qualified operators, OPERATOR(schema.op), when the operator moved', () => {
    const ops: SchemaRule = (schema, name) =>
      schema === 'public' && (name === '->' || name === '%') ? 'extensions' : null;
    expect(rewriteSchemaRefs("(data OPERATOR(public.->) 'k'::text), (name OPERATOR( public . % ) 'x')", ops).sql).toBe(
      "(data OPERATOR(extensions.->) 'k'::text), (name OPERATOR( extensions . % ) 'x')",
    );
    expect(rewriteSchemaRefs('a OPERATOR(pg_catalog.=) b, t.*, "operator"(1)', ops).rewrites).toEqual([]);
  });

  it('is unchanged (same string) when nothing matches', () => {
    const sql = 'SELECT 1';
    expect(rewriteSchemaRefs(sql, ext).sql).toBe(sql);
    expect(rewriteSchemaRefs("unterminated 'public.crypt(", ext).rewrites).toEqual([]);
  });
});
