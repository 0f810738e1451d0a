import type { Catalog, UnsupportedObject } from '../catalog/types.js';
import type { Scope } from '../catalog/scope.js';
import type { Finding } from '../errors/finding.js';

const HINTS: Record<UnsupportedObject['kind'], string> = {
  rule: 'Recreate it on the target after apply (pg_get_ruledef on the source prints it), or replace it with a trigger.',
  statistics: 'Recreate it on the target with CREATE STATISTICS (it only guides the planner), then ANALYZE the table.',
  'foreign table':
    'Its rows live on another server: create the foreign server, user mapping and foreign table on the target if it is still needed.',
  'text search configuration':
    'Create it on the target before apply when a migrated index, column default or function names it (apply fails on that object otherwise).',
  'text search dictionary': 'Create it on the target before apply when a migrated object uses it.',
  'text search parser': 'Create it on the target before apply when a migrated object uses it.',
  'text search template': 'Create it on the target before apply when a migrated object uses it.',
  operator:
    'Create it on the target before apply when a migrated view, index or function uses it (apply fails on that object otherwise).',
  'operator class': 'Create it on the target before apply when a migrated index uses it.',
  'operator family': 'Create it on the target before apply when a migrated index uses it.',
  conversion: 'Create it on the target if the application converts encodings with it.',
  cast: 'Create it on the target (CREATE CAST) if the application or a migrated function relies on it.',
};

/**
 * What the source holds that pgshift does not create (src/catalog/read/unsupported.ts): one warning per object in
 * scope, named, with what to do instead. Nothing of it is copied, so nothing of it may be lost without a word.
 */
export function unsupportedFindings(source: Catalog, scope: Scope): Finding[] {
  const out: Finding[] = [];
  for (const u of source.unsupported ?? []) {
    const inScope = u.table ? scope.tableInScope(u.schema, u.table) : scope.schemaInScope(u.schema);
    if (!inScope) continue;
    const what =
      u.kind === 'cast'
        ? `cast (${u.name})`
        : u.kind === 'foreign table'
          ? `foreign table ${u.schema}.${u.name}`
          : u.table
            ? `${u.kind} "${u.name}" on table ${u.schema}.${u.table}`
            : `${u.kind} ${u.schema}.${u.name}`;
    out.push({
      code: 'OBJECT_NOT_MIGRATED',
      severity: 'warning',
      message: `${what} is not migrated: pgshift does not create ${u.kind === 'statistics' ? 'extended statistics' : `${u.kind}s`}`,
      hint: HINTS[u.kind],
    });
  }
  return out;
}
