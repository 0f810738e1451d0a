import type pg from 'pg';
import { introspect } from '../catalog/introspect.js';
import type { TableInfo } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { Scope } from '../plan/scope.js';
import type { Relation } from './freeze.js';

/** What a cutover or rollback works on, from the source's catalog: the migrated tables and sequences. */
export interface MigratedSet {
  /** Every migrated relation (partitioned parents too): what a freeze covers. */
  readonly relations: readonly Relation[];
  /** Tables that hold rows (not partitioned parents): what a sync compares. */
  readonly tables: readonly TableInfo[];
  readonly sequences: readonly Relation[];
}

export async function migratedSet(config: Config, source: pg.ClientBase): Promise<MigratedSet> {
  const catalog = await introspect(source);
  const scope = new Scope(config, catalog);
  const inScope = catalog.tables.filter((t) => scope.tableInScope(t.schema, t.name));
  const byName = (a: Relation, b: Relation): number => (a.schema === b.schema ? (a.name < b.name ? -1 : 1) : a.schema < b.schema ? -1 : 1);
  return {
    relations: inScope.map((t) => ({ schema: t.schema, name: t.name })).sort(byName),
    tables: inScope.filter((t) => t.kind !== 'partitioned').sort(byName),
    sequences: catalog.objects
      .filter((o) => o.kind === 'sequence_value' && scope.objectInScope(o) && o.schema !== null)
      .map((o) => ({ schema: o.schema as string, name: o.name }))
      .sort(byName),
  };
}

/** The key override of a table (tables.overrides.*.key), for the sync. */
export function keyOverrideOf(config: Config): (t: TableInfo) => readonly string[] | undefined {
  return (t) => config.tables.overrides[`${t.schema}.${t.name}`]?.key;
}
