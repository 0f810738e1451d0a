import type pg from 'pg';

import type { CatalogBuilder } from '../builder.js';
import type { AclItem, TableInfo } from '../types.js';

/** A relation the catalog lists (table, view, materialized view), for readers of the objects that hang off it. */
export interface RelationRef {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  /** `table s.n`, `view s.n`, `materialized_view s.n` (or `type s.n` for a composite type's columns) */
  readonly address: string;
  /** for COMMENT ON and ALTER */
  readonly sqlKind: 'TABLE' | 'VIEW' | 'MATERIALIZED VIEW' | 'TYPE';
}

/** An identity column's sequence, read with the sequences and rendered into the table. */
export interface IdentitySequence {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  /** START WITH ... CYCLE, as SEQUENCE NAME takes them */
  readonly options: string;
}

/** A table while it is read; the key is chosen once the indexes are known. */
export interface TableStage {
  readonly info: Omit<TableInfo, 'key' | 'keyKind'>;
  key: readonly string[] | null;
  keyKind: 'primary' | 'unique' | null;
}

export interface ReadContext {
  readonly client: pg.ClientBase;
  readonly versionNum: number;
  /** OIDs of the schemas read (system schemas, pgshift and excluded ones left out). */
  readonly nsOids: readonly number[];
  readonly b: CatalogBuilder;
  /** relid -> relation, filled by the table and view readers. */
  readonly relations: Map<number, RelationRef>;
  /** `relid:attnum` -> column name, for every listed relation (comments on columns). */
  readonly columnNames: Map<string, string>;
  /** `relid:attnum` -> identity sequence. */
  readonly identity: Map<string, IdentitySequence>;
  /** relid -> table being read (ordinary, partitioned, partition). */
  readonly tables: Map<number, TableStage>;
}

export async function rows<T extends object>(ctx: ReadContext, sql: string, params: unknown[] = []): Promise<T[]> {
  const res = await ctx.client.query<T>(sql, params);
  return res.rows;
}

/**
 * An aclitem[] column as typed privileges (aclexplode): one item per grantee ('' for PUBLIC), its privilege names
 * sorted; read as JSON, NULL when the object has the default privileges.
 */
export function aclSql(column: string): string {
  return `(SELECT pg_catalog.json_agg(pg_catalog.json_build_object('grantee', g.grantee, 'privileges', g.privileges) ORDER BY g.grantee)
             FROM (SELECT CASE WHEN a.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(a.grantee)::pg_catalog.text END AS grantee,
                          pg_catalog.array_agg(DISTINCT a.privilege_type::pg_catalog.text ORDER BY a.privilege_type::pg_catalog.text) AS privileges
                     FROM pg_catalog.aclexplode(${column}) a GROUP BY 1) g)`;
}

/** The privileges aclSql() read (null when the object has the default privileges). */
export function aclOf(acl: AclItem[] | null | undefined): readonly AclItem[] | null {
  return acl && acl.length > 0 ? acl : null;
}
