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
  /** A bigint hash of the whole row (the same value on both sides for the same row; see rowHashSql). */
  readonly rowHash: string;
  /** A bigint hash of the whole row under another seed: the bucket of a row in a table without a key. */
  readonly rowBucket: string;
  /** A bigint hash of the key's columns: the bucket of a keyed row; null without a key. */
  readonly keyBucket: string | null;
}

/**
 * How a column enters a row's hash. The row hash is `hash_record_extended(ROW(...))` (PostgreSQL 14+; the extended
 * hash functions are the ones hash partitioning relies on, equal across majors), each column as:
 * - `typed`: as it is, for types whose equality is identity (integers, uuid, timestamps, dates, bytea, ...);
 * - `collate`: text under the C collation (a nondeterministic collation would hash equal strings alike);
 * - `send`: the bytes of its binary send function, for built-in types whose equality forgets something that text
 *   (and the copy) keep: numeric scale (1.0 vs 1.00), -0 vs 0 and NaNs in floats, '1 day' vs '24 hours', jsonb
 *   number spellings, array bounds; and for built-in types without a hash function (json, xml, point, ...);
 * - `text`: its text under the verification session's settings (types not built in: domains, composites,
 *   extension types, whose binary forms or hashes may name server-specific OIDs; reg* types). An enum is hashed by
 *   its send function, which sends its label.
 * No text is rendered for the first three, which is what makes the hash several times cheaper than ROW()::text.
 */
export type HashMode = 'typed' | 'collate' | 'send' | 'text';

const TYPED = new Set([
  'int2',
  'int4',
  'int8',
  'oid',
  'bool',
  'date',
  'timestamp',
  'timestamptz',
  'time',
  'uuid',
  'bytea',
  'char',
  'macaddr',
  'macaddr8',
  'inet',
  'cidr',
]);
const COLLATED = new Set(['text', 'varchar', 'name']);

/** The mode of one column, from its catalog facts (a column read without them is hashed as text). */
export function hashMode(c: ColumnInfo): HashMode {
  // an enum's send function gives its label: the same on every server (its hash would be of a server's OID)
  if (c.typeKind === 'e' && c.sendFunction === 'enum_send') return 'send';
  if (c.typeSchema !== 'pg_catalog') return 'text';
  if (TYPED.has(c.typeName)) return 'typed';
  if (COLLATED.has(c.typeName)) return 'collate';
  const base = c.typeName.startsWith('_') ? c.typeName.slice(1) : c.typeName;
  if (base.startsWith('reg') || base === 'aclitem') return 'text';
  return c.sendFunction ? 'send' : 'text';
}

/** One column as a row hash takes it. */
export interface HashColumn {
  readonly name: string;
  readonly mode: HashMode;
  /** The send function (mode `send`). */
  readonly send?: string;
}

function columnHashSql(c: HashColumn): string {
  const q = quoteIdent(c.name);
  switch (c.mode) {
    case 'typed':
      return q;
    case 'collate':
      return `${q} COLLATE pg_catalog."C"`;
    case 'send':
      return `pg_catalog.${quoteIdent(c.send as string)}(${q})`;
    case 'text':
      return `(${q})::pg_catalog.text COLLATE pg_catalog."C"`;
  }
}

/** The hash columns of `cols`: each column's own mode, or the one both sides agreed on. */
function hashColumns(cols: readonly ColumnInfo[], modes?: ReadonlyMap<string, HashMode>): HashColumn[] {
  return cols.map((c) => {
    const mode = modes?.get(c.name) ?? hashMode(c);
    return mode === 'send' ? { name: c.name, mode, send: c.sendFunction as string } : { name: c.name, mode };
  });
}

/** The bigint hash of a row by these hash columns under `seed`. */
export function hashColumnsSql(cols: readonly HashColumn[], seed: number): string {
  return `pg_catalog.hash_record_extended(ROW(${cols.map(columnHashSql).join(', ')}), ${seed})`;
}

export interface HashOptions {
  /**
   * Both servers have hash_record_extended (14+): hash typed values. Else ROW(...)::text is hashed with
   * hashtextextended (the rendering of every value; slower, and what a verification of an older server uses).
   */
  readonly recordHash: boolean;
  /** Each column's mode, when both sides must agree on it (else from the column itself). */
  readonly modes?: ReadonlyMap<string, HashMode>;
}

/** A bigint hash of the given columns under `seed`. */
export function hashSql(cols: readonly ColumnInfo[], seed: number, o: HashOptions): string {
  if (!o.recordHash)
    return `pg_catalog.hashtextextended(ROW(${cols.map((c) => quoteIdent(c.name)).join(', ')})::text, ${seed})`;
  return hashColumnsSql(hashColumns(cols, o.modes), seed);
}

export const ROW_SEED = 0;
export const BUCKET_SEED = 7;

/** Where both servers can hash records (PostgreSQL 14 and later). */
export function canHashRecords(...serverVersionNums: number[]): boolean {
  return serverVersionNums.every((v) => v >= 140000);
}

export function tableExpr(
  t: TableInfo,
  keyOverride?: readonly string[],
  o: HashOptions = { recordHash: true },
): TableExpr {
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
    rowHash: hashSql(cols, ROW_SEED, o),
    rowBucket: hashSql(cols, BUCKET_SEED, o),
    keyBucket: keyColumns.length > 0 ? hashSql(keyColumns, BUCKET_SEED, o) : null,
  };
}

/**
 * The expressions of one table on both sides, hashing each column the same way on both: a column whose mode the
 * two catalogs would choose differently (a type spelled otherwise on the target) is hashed as text on both.
 */
export function pairExprs(
  source: TableInfo,
  target: TableInfo,
  keyOverride: readonly string[] | undefined,
  recordHash: boolean,
): { source: TableExpr; target: TableExpr } {
  const o = { recordHash, modes: agreedModes(source, target) };
  return { source: tableExpr(source, keyOverride, o), target: tableExpr(target, keyOverride, o) };
}

function agreedModes(source: TableInfo, target: TableInfo): Map<string, HashMode> {
  const modes = new Map<string, HashMode>();
  for (const c of source.columns) {
    const other = target.columns.find((x) => x.name === c.name);
    const a = hashMode(c);
    modes.set(c.name, other && hashMode(other) === a ? a : 'text');
  }
  return modes;
}

/**
 * How a copy digests the rows it reads (every column, generated ones included, in the source's order): stored with
 * the unit's checkpoint, so that the target is read back by exactly the same hash.
 */
export interface DigestRecipe {
  readonly columns: readonly HashColumn[];
}

export function digestRecipe(source: TableInfo, target: TableInfo): DigestRecipe {
  return { columns: hashColumns(source.columns, agreedModes(source, target)) };
}

/** Whether a stored recipe (as jsonb gives it back, keys reordered) is this one. */
export function sameRecipe(stored: unknown, recipe: DigestRecipe): boolean {
  const cols = (stored as { columns?: unknown } | null)?.columns;
  if (!Array.isArray(cols) || cols.length !== recipe.columns.length) return false;
  return recipe.columns.every((c, i) => {
    const o = cols[i] as Partial<HashColumn> | null;
    return o?.name === c.name && o.mode === c.mode && (o.send ?? null) === (c.send ?? null);
  });
}

/** The recipe's row hash (its seed is the verification's row seed). */
export function digestSql(recipe: DigestRecipe): string {
  return hashColumnsSql(recipe.columns, ROW_SEED);
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
