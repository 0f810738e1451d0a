import { NON_UNRESERVED_KEYWORDS } from './keywords.js';

/**
 * The ONLY identifier quoting in pgshift. Every schema, table, column, role or other name that reaches SQL text goes
 * through quoteIdent(); every value goes through query parameters. Names are always quoted (never "quote if needed"),
 * so reserved words, mixed case, digits first, dots, spaces and unicode all round-trip unchanged.
 */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new TypeError('empty SQL identifier');
  if (name.includes('\u0000')) throw new TypeError('SQL identifier contains a NUL character');
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * An identifier quoted the way the server's deparse functions print it (quote_identifier): bare when it is a plain
 * lower-case word that is not a reserved keyword, else quoted like quoteIdent(). For text compared with what the
 * server prints (definitions); the SQL pgshift runs may use either form.
 */
export function quoteIdentLikeServer(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !NON_UNRESERVED_KEYWORDS.has(name) ? name : quoteIdent(name);
}

/** schema.name, each part quoted. */
export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** A SQL string literal, for the rare places where Postgres takes no parameter (DDL such as COMMENT ON or SET). */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new TypeError('SQL literal contains a NUL character');
  return `'${value.replace(/'/g, "''")}'`;
}
