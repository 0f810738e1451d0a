/**
 * What the applier needs to know of one target table (its columns as the target's catalog spells their types), and
 * the Relation check: the source's column list must match it, else the source's schema moved (DDL is not decoded).
 */
import type pg from 'pg';
import { PgshiftError } from '../errors/index.js';
import type { RelationColumn } from './pgoutput.js';

export interface TargetColumn {
  readonly name: string;
  /** format_type(atttypid, atttypmod) on the target: the cast of every value */
  readonly type: string;
  readonly typeOid: number;
  readonly typmod: number;
  readonly typname: string;
  readonly generated: boolean;
  readonly identityAlways: boolean;
  /** no btree equality (json, xml, geometric types): rows are matched on their text form */
  readonly textEquality: boolean;
}

const NO_EQUALITY = new Set(['json', 'xml', 'point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle']);
/** pg_type OIDs below this are built in, the same on every server version. */
const FIRST_NORMAL_OID = 16384;

export async function readTargetColumns(client: pg.ClientBase, schema: string, name: string): Promise<TargetColumn[]> {
  const r = await client.query<{
    attname: string;
    type: string;
    atttypid: number;
    atttypmod: number;
    typname: string;
    elemname: string | null;
    attgenerated: string;
    attidentity: string;
  }>(
    `SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.atttypid::int AS atttypid, a.atttypmod,
            t.typname, e.typname AS elemname, a.attgenerated, a.attidentity
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [schema, name],
  );
  if (r.rows.length === 0) {
    throw new PgshiftError('STREAM_REFUSED', `the target has no table ${schema}.${name} to stream into`, {
      hint: 'Run `pgshift apply` first: the stream applies changes to tables that exist on the target.',
    });
  }
  return r.rows.map((c) => ({
    name: c.attname,
    type: c.type,
    typeOid: c.atttypid,
    typmod: c.atttypmod,
    typname: c.typname,
    generated: c.attgenerated !== '',
    identityAlways: c.attidentity === 'a',
    textEquality: NO_EQUALITY.has(c.elemname ?? c.typname),
  }));
}

/** User types the source named in Type messages: OID -> type name. */
export type SourceTypes = ReadonlyMap<number, { readonly schema: string; readonly name: string }>;

/**
 * The target column of every column of a Relation message, in its order; throws STREAM_SCHEMA_CHANGED naming the
 * table and the columns when a column is missing on either side or its type differs. Generated columns of the
 * target are not published (before PostgreSQL 18) and never written.
 */
export function matchRelation(
  table: string,
  sent: readonly RelationColumn[],
  target: readonly TargetColumn[],
  types: SourceTypes,
): TargetColumn[] {
  const byName = new Map(target.filter((c) => !c.generated).map((c) => [c.name, c]));
  const problems: string[] = [];
  const out: TargetColumn[] = [];
  for (const col of sent) {
    const t = byName.get(col.name);
    if (!t) {
      problems.push(`${col.name} (on the source only)`);
      continue;
    }
    byName.delete(col.name);
    out.push(t);
    const userType = types.get(col.typeOid);
    const sameType =
      col.typeOid < FIRST_NORMAL_OID
        ? col.typeOid === t.typeOid
        : userType === undefined || userType.name === t.typname || `_${userType.name}` === t.typname;
    if (!sameType || col.typmod !== t.typmod) problems.push(`${col.name} (its type differs)`);
  }
  for (const missing of byName.keys()) problems.push(`${missing} (on the target only)`);
  if (problems.length > 0) {
    throw new PgshiftError(
      'STREAM_SCHEMA_CHANGED',
      `the source's table ${table} no longer matches the target: ${problems.join(', ')}`,
      {
        hint: 'run `pgshift plan` to see the change, `pgshift apply` to bring it across; the stream resumes where it stopped',
      },
    );
  }
  return out;
}
