import type pg from 'pg';
import { introspect } from '../catalog/introspect.js';
import type { TableInfo } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { Scope } from '../catalog/scope.js';
import { pairTables, schemaNaming, type TablePair } from '../mapping/table-pairs.js';
import type { Relation } from './freeze.js';

/** A sequence as each side names it. */
export interface SequencePair {
  readonly source: Relation;
  readonly target: Relation;
}

/** What a cutover or rollback works on, from the source's catalog: the migrated tables and sequences. */
export interface MigratedSet {
  /** Every migrated relation (partitioned parents too), as the source names it: what the source's freeze covers. */
  readonly relations: readonly Relation[];
  /** The same relations as the target names them: what a rollback's freeze of the target covers. */
  readonly targetRelations: readonly Relation[];
  /** Tables that hold rows (not partitioned parents), as the source names them. */
  readonly tables: readonly TableInfo[];
  /** The same tables paired with their target names: what a sync compares and writes. */
  readonly pairs: readonly TablePair[];
  readonly sequences: readonly SequencePair[];
}

/** One table of a sync, `from` the side read and `to` the side written, each under its own name. */
export interface SyncTable {
  readonly from: TableInfo;
  readonly to: TableInfo;
  readonly key?: readonly string[];
}

export interface SyncSequence {
  readonly from: Relation;
  readonly to: Relation;
}

/**
 * The set as a sync in one direction reads and writes it: `to-target` for a cutover's catch-up and final sync,
 * `to-source` for a rollback's carry-back.
 */
export function directed(
  set: MigratedSet,
  direction: 'to-target' | 'to-source',
): { tables: SyncTable[]; sequences: SyncSequence[] } {
  const fwd = direction === 'to-target';
  return {
    tables: set.pairs.map((p) => ({
      from: fwd ? p.source : p.target,
      to: fwd ? p.target : p.source,
      ...(p.key ? { key: p.key } : {}),
    })),
    sequences: set.sequences.map((p) => ({ from: fwd ? p.source : p.target, to: fwd ? p.target : p.source })),
  };
}

export async function migratedSet(config: Config, source: pg.ClientBase): Promise<MigratedSet> {
  const catalog = await introspect(source);
  const scope = new Scope(config, catalog);
  const inScope = catalog.tables.filter((t) => scope.tableInScope(t.schema, t.name));
  const byName = (a: Relation, b: Relation): number =>
    a.schema === b.schema ? (a.name < b.name ? -1 : 1) : a.schema < b.schema ? -1 : 1;
  // the one source -> target naming that copy and verify use too: schemas.map renames a schema, nothing else
  const { onTarget } = schemaNaming(config);
  const relations = inScope.map((t) => ({ schema: t.schema, name: t.name })).sort(byName);
  const tables = inScope.filter((t) => t.kind !== 'partitioned').sort(byName);
  const sequences = catalog.objects
    .filter((o) => o.kind === 'sequence_value' && scope.objectInScope(o) && o.schema !== null)
    .map((o) => ({ schema: o.schema as string, name: o.name }))
    .sort(byName);
  return {
    relations,
    targetRelations: relations.map((r) => ({ schema: onTarget(r.schema), name: r.name })),
    tables,
    pairs: pairTables(config, tables),
    sequences: sequences.map((q) => ({ source: q, target: { schema: onTarget(q.schema), name: q.name } })),
  };
}
