import { closest, distance } from 'fastest-levenshtein';
import { globToRegExp } from '../catalog/scope.js';
import type { Catalog } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import type { Finding } from './model.js';

/** The source table a misspelt name most likely means: same name in another case, or one a few edits away. */
function closeTable(name: string, tables: readonly string[]): string | undefined {
  if (tables.length === 0) return undefined;
  const lower = name.toLowerCase();
  const sameCase = tables.find((t) => t.toLowerCase() === lower);
  if (sameCase) return sameCase;
  const best = closest(name, tables as string[]);
  return distance(name, best) <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

function hint(entry: string, tables: readonly string[]): string {
  const close = entry.includes('*') ? undefined : closeTable(entry, tables);
  return close
    ? `Did you mean "${close}"? Fix the name in migration.yaml, or remove the entry.`
    : "No table of the source has a name close to it: fix the name in migration.yaml (the source's schema.table), or remove the entry.";
}

/**
 * Entries of tables.exclude and tables.overrides that name no table of the source: they would be ignored without
 * a word (a misspelt exclude copies the table it meant to leave out; a misspelt override copies with the defaults).
 * One warning per entry, in the file's order, with the table it could mean when one is close. The config's names
 * are the source's (schemas.map is applied to the target only), so the raw source catalog is searched.
 */
export function unmatchedTableEntries(config: Config, source: Catalog): Finding[] {
  const tables = source.tables.map((t) => `${t.schema}.${t.name}`);
  const matches = (pattern: string): boolean => {
    const dot = pattern.indexOf('.');
    const schema = globToRegExp(pattern.slice(0, dot));
    const table = globToRegExp(pattern.slice(dot + 1));
    return source.tables.some((t) => schema.test(t.schema) && table.test(t.name));
  };
  const out: Finding[] = [];
  for (const pattern of config.tables.exclude) {
    if (matches(pattern)) continue;
    out.push({
      code: 'TABLE_ENTRY_UNMATCHED',
      severity: 'warning',
      message: `tables.exclude: "${pattern}" matches no table of the source, so it excludes nothing`,
      hint: hint(pattern, tables),
    });
  }
  for (const name of Object.keys(config.tables.overrides)) {
    if (tables.includes(name)) continue;
    out.push({
      code: 'TABLE_ENTRY_UNMATCHED',
      severity: 'warning',
      message: `tables.overrides: "${name}" names no table of the source, so its settings apply to nothing`,
      hint: hint(name, tables),
    });
  }
  return out;
}
