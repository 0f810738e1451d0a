import type { ColumnInfo, TableInfo } from '../catalog/types.js';
import { qualified, quoteIdent } from '../db/ident.js';
import { hmacKey } from './key-secret.js';

/**
 * Settings both sides verify under, so that a value renders to the same text on 15 and 17: UTC, ISO dates,
 * shortest exact floats, hex bytea.
 */
export const VERIFY_SESSION_SQL = [
  "SET search_path = ''", // reg* values render schema-qualified on both sides
  "SET TimeZone = 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  'SET extra_float_digits = 1',
  "SET bytea_output = 'hex'",
].join('; ');

export interface TableExpr {
  readonly from: string;
  /** ROW(all columns)::text */
  readonly rowText: string;
  /** ROW(key columns)::text, or null for a table without a key */
  readonly keyText: string | null;
  readonly keyColumns: readonly ColumnInfo[];
  readonly columns: readonly ColumnInfo[];
}

export function tableExpr(t: TableInfo, keyOverride?: readonly string[]): TableExpr {
  const cols = t.columns;
  const keyNames = keyOverride ?? t.key;
  const keyColumns = keyNames
    ? keyNames.map((k) => cols.find((c) => c.name === k)).filter((c): c is ColumnInfo => c !== undefined)
    : [];
  return {
    from: `ONLY ${qualified(t.schema, t.name)}`,
    rowText: `ROW(${cols.map((c) => quoteIdent(c.name)).join(', ')})::text`,
    keyText: keyColumns.length > 0 ? `ROW(${keyColumns.map((c) => quoteIdent(c.name)).join(', ')})::text` : null,
    keyColumns,
    columns: cols,
  };
}

const PLAIN_KEY_TYPES = new Set(['int2', 'int4', 'int8', 'uuid']);

/** Keys are shown as they are only when every key column is an integer or uuid; otherwise as a hash. */
export function keysArePlain(e: TableExpr): boolean {
  return e.keyColumns.every((c) => c.typeSchema === 'pg_catalog' && PLAIN_KEY_TYPES.has(c.typeName));
}

/**
 * How a key that is not shown is named in a report and in the state: an HMAC of its text keyed by the migration's
 * secret (src/verify/key-secret.ts), never a plain hash (an MRN or a birth date is found from a plain hash by trying
 * every value). The same key gives the same hash in every run that has the same secret.
 */
export function keyHash(keyText: string): string {
  return hmacKey(keyText);
}
