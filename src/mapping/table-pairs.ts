import type { TableInfo } from '../catalog/types.js';
import type { Config } from '../config/types.js';

/**
 * A migrated table as each side names it: the one source -> target pairing that copy, verify, the cutover's sync
 * and a rollback name tables by. schemas.map renames a schema on the target; the columns are the same on both
 * sides (their types may be spelled differently where an extension moved schema). `key` is the key override
 * (tables.overrides.<source table>.key), when there is one.
 */
export interface TablePair {
  readonly source: TableInfo;
  readonly target: TableInfo;
  readonly key?: readonly string[];
}

/** The target's name of a source schema (schemas.map), and the source's name of a target schema. */
export function schemaNaming(config: Config): { onTarget(schema: string): string; onSource(schema: string): string } {
  const map = config.schemas.map;
  const back = new Map(Object.entries(map).map(([from, to]) => [to, from]));
  return { onTarget: (s) => map[s] ?? s, onSource: (s) => back.get(s) ?? s };
}

/**
 * One source table and its form on the target. `config` names tables.overrides as the file does (by the source's
 * names), not as withTargetOverrides renames them.
 */
export function tablePair(config: Config, source: TableInfo, target: TableInfo): TablePair {
  const key = config.tables.overrides[`${source.schema}.${source.name}`]?.key;
  return { source, target, ...(key ? { key } : {}) };
}

/**
 * Pairs source tables with their target form: `landed` (the source catalog as it must read on the target, from the
 * mapping) when given, else the source table under its target schema name. The mapping makes its pairs itself
 * (TargetMapping.pairs); this is for code that reads only the source's catalog.
 */
export function pairTables(
  config: Config,
  sourceTables: readonly TableInfo[],
  landed?: readonly TableInfo[],
): TablePair[] {
  const { onTarget } = schemaNaming(config);
  const byName = new Map((landed ?? []).map((t) => [`${t.schema}.${t.name}`, t]));
  return sourceTables.map((t) => {
    const schema = onTarget(t.schema);
    return tablePair(config, t, byName.get(`${schema}.${t.name}`) ?? { ...t, schema });
  });
}

/** The pairs by the target's `schema.name`. */
export function pairsByTarget(pairs: readonly TablePair[]): ReadonlyMap<string, TablePair> {
  return new Map(pairs.map((p) => [`${p.target.schema}.${p.target.name}`, p]));
}
