import type pg from 'pg';
import type { Config } from '../config/types.js';
import { qualified } from '../db/ident.js';
import { migratedSet } from './context.js';

export interface FreezeReadiness {
  /** What would stop `pgshift cutover` from freezing writes on the source (empty: nothing). */
  readonly problems: readonly string[];
  readonly tables: number;
}

/**
 * Whether the source role may put the write freeze on the migrated tables: create schema pgshift (or use the one
 * there) for the freeze function, and create triggers on every migrated table (TRIGGER privilege; the owner has it).
 * Read-only: doctor asks this long before the cutover day.
 */
export async function freezeReadiness(config: Config, source: pg.ClientBase): Promise<FreezeReadiness> {
  const set = await migratedSet(config, source);
  const problems: string[] = [];
  const db = await source.query<{ create: boolean; schema: boolean; schema_create: boolean }>(
    `SELECT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE') AS create,
            pg_catalog.to_regnamespace('pgshift') IS NOT NULL AS schema,
            coalesce(pg_catalog.has_schema_privilege(pg_catalog.to_regnamespace('pgshift'), 'CREATE'), false) AS schema_create`,
  );
  const d = db.rows[0];
  if (d && !(d.schema ? d.schema_create : d.create)) {
    problems.push(
      d.schema
        ? 'no CREATE privilege on schema pgshift (for the freeze function)'
        : 'no CREATE privilege on the database (schema pgshift holds the freeze function)',
    );
  }
  if (set.relations.length > 0) {
    const r = await source.query<{ t: string }>(
      `SELECT x AS t FROM pg_catalog.unnest($1::pg_catalog.text[]) x WHERE NOT pg_catalog.has_table_privilege(x, 'TRIGGER')`,
      [set.relations.map((t) => qualified(t.schema, t.name))],
    );
    if (r.rows.length > 0) {
      problems.push(
        `no TRIGGER privilege (nor ownership) on ${r.rows.length} migrated table(s): ${r.rows
          .slice(0, 5)
          .map((x) => x.t)
          .join(', ')}${r.rows.length > 5 ? ', ...' : ''}`,
      );
    }
  }
  return { problems, tables: set.relations.length };
}
