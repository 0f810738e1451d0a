import type { ColumnInfo } from '../catalog/types.js';

/**
 * What a row costs to move beyond its bytes (sent, received and hashed value by value), in microseconds, by its
 * columns' types. Fitted on the floor's binary COPY of gen.sql (docs/benchmarks.md), with 100 MiB/s for the bytes:
 * observations (3M rows, 5 columns) 5.0 s, encounters (1M, numeric and text[]) 2.5 s, patients (250k, jsonb) 3.2 s,
 * audit_log (750k, 731 MiB of bytea) 8.3 s. A jsonb value is parsed again on the target: it dominates a row.
 */
export function rowMicros(columns: readonly Pick<ColumnInfo, 'typeName' | 'typeSchema' | 'typeKind'>[]): number {
  let us = 0;
  for (const c of columns) {
    const builtin = c.typeSchema === 'pg_catalog';
    if (builtin && (c.typeName === 'json' || c.typeName === 'jsonb')) us += 6;
    else if (builtin && FIXED.has(c.typeName)) us += 0.15;
    else if (builtin && (c.typeName === 'text' || c.typeName === 'varchar' || c.typeName === 'bpchar')) us += 0.3;
    else if (c.typeKind === 'e') us += 0.15;
    else us += 0.5; // numeric, arrays, ranges, composites, domains and extension types
  }
  return us;
}

const FIXED = new Set([
  'bool',
  'int2',
  'int4',
  'int8',
  'oid',
  'float4',
  'float8',
  'uuid',
  'date',
  'time',
  'timetz',
  'timestamp',
  'timestamptz',
  'interval',
  'bytea',
  'char',
  'money',
  'inet',
  'cidr',
  'macaddr',
]);
