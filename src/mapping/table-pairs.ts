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
 * Pairs source tables with their target form: `landed` (the source catalog as it must read on the target, from the
 * mapping) when given, else the source table under its target schema name.
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
    const target = byName.get(`${schema}.${t.name}`) ?? { ...t, schema };
    const key = config.tables.overrides[`${t.schema}.${t.name}`]?.key;
    return { source: t, target, ...(key ? { key } : {}) };
  });
}
