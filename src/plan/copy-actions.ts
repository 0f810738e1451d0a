import type { Catalog, CatalogObject, ColumnInfo, TableInfo } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import type { CheckpointRow } from '../state/snapshot.js';
import { parsePart, partAddress } from '../state/unit-names.js';
import type { CopyTableAction, Finding, ReadBackAction } from './model.js';
import { keyIsDisplayable } from './key-display.js';
import type { Scope } from '../catalog/scope.js';
import type { TablePair } from '../mapping/table-pairs.js';
import { digestRecipe } from '../verify/expressions.js';
import { rowMicros } from './row-cost.js';

export function copyAddress(t: { schema: string; name: string }): string {
  return `copy ${t.schema}.${t.name}`;
}

export { parsePart, partAddress, tableUnit } from '../state/unit-names.js';

/** The most parts a table is split into. */
export const MAX_PARTS = 64;

/**
 * How many key ranges a table is copied in: none (undefined) for a keyless table or one not larger than
 * copy.split_tables_larger_than; else its estimated size over the threshold, at least copy.parallel (a split table
 * then keeps every copy slot busy), at most MAX_PARTS.
 */
export function splitParts(
  config: Pick<Config, 'copy'>,
  t: Pick<TableInfo, 'estimatedBytes'>,
  keyed: boolean,
): number | undefined {
  const threshold = config.copy.splitTablesLargerThan;
  if (!keyed || threshold === null || t.estimatedBytes <= threshold) return undefined;
  const parts = Math.min(
    MAX_PARTS,
    Math.max(config.copy.parallel, Math.ceil(t.estimatedBytes / Math.max(1, threshold))),
  );
  return parts >= 2 ? parts : undefined;
}

/** The read-back action of a copied table (of all its parts, when split). */
export function readBackAddress(t: { schema: string; name: string }): string {
  return `read-back ${t.schema}.${t.name}`;
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1024))} kB`;
}

export interface CopyPlan {
  readonly actions: CopyTableAction[];
  readonly findings: Finding[];
  readonly unchanged: number;
  /** One read-back per split table with a digest: after all its parts (beside its index builds). */
  readonly readBacks: ReadBackAction[];
  /** table address -> copy action ids of the table and of every leaf partition under it */
  readonly copiesOf: ReadonlyMap<string, readonly string[]>;
}

/**
 * One copy action per leaf table in scope (partitions are copied one by one, their parents hold no rows),
 * largest first. A unit done in the state is a no-op; a unit with a checkpoint resumes after its last key.
 */
/**
 * Types whose binary form is not portable between servers: reg* values travel as OIDs (which differ between
 * clusters), aclitem has no binary form. Arrays of them too. Types outside pg_catalog (enums, domains,
 * composites, extension types) may embed OIDs as well: text for all of them.
 */
/** The most a batch holds by its estimated size: a wide table's batches stay bounded transactions. */
export const BATCH_BYTES = 256 * 1024 * 1024;

/**
 * Rows per batch: copy.batch_size, fewer where the table's rows are so wide (by its estimated size over its estimated
 * rows) that that many would pass BATCH_BYTES.
 */
export function batchRows(configured: number, t: Pick<TableInfo, 'estimatedRows' | 'estimatedBytes'>): number {
  if (t.estimatedRows <= 0 || t.estimatedBytes <= 0) return configured;
  const perRow = t.estimatedBytes / t.estimatedRows;
  return Math.max(1, Math.min(configured, Math.floor(BATCH_BYTES / perRow)));
}

function builtinBinarySafe(typeName: string): boolean {
  const base = typeName.startsWith('_') ? typeName.slice(1) : typeName;
  return !(base.startsWith('reg') || base === 'aclitem');
}

/**
 * Whether a column's binary COPY form may not mean the same on the target: a type that is not built in may carry
 * server-specific OIDs (composites, arrays of such types) or an extension's own format. Two are known to be safe:
 * an enum travels as its label, a domain as its built-in base type.
 */
function binaryUnsafe(c: Pick<ColumnInfo, 'typeName' | 'typeSchema' | 'typeKind' | 'baseType'>): boolean {
  if (c.typeSchema === 'pg_catalog') return !builtinBinarySafe(c.typeName);
  if (c.typeKind === 'e') return false;
  if (c.typeKind === 'd' && c.baseType?.startsWith('pg_catalog.'))
    return !builtinBinarySafe(c.baseType.slice('pg_catalog.'.length));
  return true;
}

export function copyActions(
  config: Config,
  /** The mapping's table pairs: names on the target from `target`, the source's names and key types from `source`. */
  pairs: readonly TablePair[],
  target: Catalog,
  scope: Scope,
  checkpoints: readonly CheckpointRow[],
  /** Tables this plan creates: a checkpoint left from before does not describe them (re-created: copy again). */
  creating: ReadonlySet<string>,
  /** The copies digest what they read (verify.checksums full, both servers 14+): see CopyTableAction.digest. */
  digest = false,
): CopyPlan {
  const findings: Finding[] = [];
  const byUnit = new Map(checkpoints.map((c) => [c.unit, c]));
  const targetTables = new Map(target.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const leaves = pairs.filter(({ target: t }) => t.kind !== 'partitioned' && scope.tableInScope(t.schema, t.name));
  leaves.sort(
    ({ target: a }, { target: b }) => b.estimatedBytes - a.estimatedBytes || (copyAddress(a) < copyAddress(b) ? -1 : 1),
  );
  const actions: CopyTableAction[] = [];
  const readBacks: ReadBackAction[] = [];
  let unchanged = 0;
  for (const pair of leaves) {
    const t = pair.target;
    const address = copyAddress(t);
    const recreated = creating.has(`table ${t.schema}.${t.name}`);
    const wholeCp = recreated ? undefined : byUnit.get(address);
    if (wholeCp?.status === 'done') {
      unchanged++;
      continue;
    }
    const override = config.tables.overrides[`${t.schema}.${t.name}`];
    const keyNames = pair.key ?? t.key;
    const key = keyNames
      ? keyNames.map((k) => {
          const col = t.columns.find((c) => c.name === k);
          if (!col && pair.key) {
            findings.push({
              code: 'KEY_COLUMN_MISSING',
              severity: 'blocker',
              address,
              message: `tables.overrides: key column "${k}" is not a column of ${t.schema}.${t.name}`,
              hint: 'Name existing columns that identify a row.',
            });
          }
          // key values are cast on the source: its own spelling of the key types (an extension type may live
          // elsewhere there)
          return { name: k, type: pair.source.columns.find((c) => c.name === k)?.type ?? col?.type ?? 'text' };
        })
      : null;
    if (pair.key) {
      const nullable = pair.key.filter((k) => t.columns.find((c) => c.name === k)?.notNull === false);
      if (nullable.length > 0) {
        findings.push({
          code: 'KEY_COLUMN_NULLABLE',
          severity: 'blocker',
          address,
          message: `tables.overrides: key column(s) ${nullable.map((n) => `"${n}"`).join(', ')} of ${t.schema}.${t.name} may be NULL; rows with a NULL key would be skipped`,
          hint: 'Name NOT NULL columns as the key, or add NOT NULL on the source.',
        });
      }
    }
    const columns = t.columns.filter((c) => c.generated === null).map((c) => c.name);
    const existing = targetTables.get(`${t.schema}.${t.name}`);
    if (existing && !recreated) {
      const mismatched = t.columns
        .filter((c) => c.generated === null)
        .filter((c) => existing.columns.find((x) => x.name === c.name)?.type !== c.type);
      if (mismatched.length > 0) {
        findings.push({
          code: 'COPY_TYPE_MISMATCH',
          severity: 'blocker',
          address,
          message: `${t.schema}.${t.name} exists on the target with other column types (${mismatched.map((c) => `"${c.name}" ${c.type} -> ${existing.columns.find((x) => x.name === c.name)?.type ?? 'missing'}`).join(', ')}); copying would reinterpret or reject the values`,
          hint: 'Make the target table match the source (or drop it there and let pgshift create it), then plan again.',
        });
      }
    }
    const foreign = t.columns.find((c) => binaryUnsafe(c));
    const format = foreign ? 'text' : 'binary';
    const rows = Math.max(0, Math.round(t.estimatedRows));
    // split in key ranges: the parts its checkpoints were made with, else by its size (a table begun whole stays so)
    const storedParts = recreated
      ? undefined
      : checkpoints.find((c) => c.unit.startsWith(`${address} [`) && parsePart(c.unit))?.unit;
    const parts =
      key === null || wholeCp ? undefined : storedParts ? parsePart(storedParts)?.of : splitParts(config, t, true);
    if (parts !== undefined) {
      const units = Array.from({ length: parts }, (_v, i) => partAddress(t, i + 1, parts));
      const cps = units.map((u) => (recreated ? undefined : byUnit.get(u)));
      const left = cps.filter((c) => c?.status !== 'done').length;
      const copied = cps.reduce((n, c) => n + (c?.rowsCopied ?? 0), 0);
      const started = cps.some((c) => c !== undefined);
      const tableReason = started
        ? `resume: ${left} of ${parts} key ranges left, ~${Math.max(0, rows - copied).toLocaleString('en-US')} rows left`
        : `~${rows.toLocaleString('en-US')} rows, ${formatBytes(t.estimatedBytes)} in ${parts} key ranges (larger than copy.split_tables_larger_than)${format === 'text' ? ` (text format: column "${foreign?.name}" has type ${foreign?.type})` : ''}`;
      if (left === 0) {
        unchanged++;
        continue;
      }
      const planned: string[] = [];
      units.forEach((unit, i) => {
        const pcp = cps[i];
        if (pcp?.status === 'done') return;
        planned.push(unit);
        actions.push({
          kind: 'copy_table',
          id: unit,
          address: unit,
          dependsOn: [`table ${t.schema}.${t.name}`],
          change: pcp ? 'resume' : started ? 'resume' : 'create',
          reason: tableReason,
          phase: 'data',
          // parts of one table run side by side: each locks only itself
          locks: [unit],
          table: { schema: t.schema, name: t.name },
          columns,
          key,
          batchSize: batchRows(override?.batchSize ?? config.copy.batchSize, t),
          ...(override?.batchSize !== undefined || config.copy.batchSizeExplicit
            ? { batchSizeFixed: true as const }
            : {}),
          format,
          estimatedRows: Math.round(rows / parts),
          estimatedBytes: Math.round(t.estimatedBytes / parts),
          rowMicros: rowMicros(t.columns.filter((c) => c.generated === null)),
          ...(pair.source.schema !== t.schema || pair.source.name !== t.name
            ? { sourceTable: { schema: pair.source.schema, name: pair.source.name } }
            : {}),
          ...(digest ? { digest: digestRecipe(pair.source, t) } : {}),
          part: { index: i + 1, of: parts },
        });
      });
      if (digest && planned.length > 0) {
        readBacks.push({
          kind: 'read_back',
          id: readBackAddress(t),
          address: readBackAddress(t),
          dependsOn: planned,
          change: 'update',
          reason: `the ${parts} key ranges' copy digests against the target, once all are copied`,
          phase: 'post-data',
          locks: [`table ${t.schema}.${t.name}`],
          table: { schema: t.schema, name: t.name },
          digest: digestRecipe(pair.source, t),
          units,
          estimatedRows: rows,
          estimatedBytes: t.estimatedBytes,
        });
      }
      continue;
    }
    const cp = wholeCp;
    let reason = `~${rows.toLocaleString('en-US')} rows, ${formatBytes(t.estimatedBytes)}${format === 'text' ? ` (text format: column "${foreign?.name}" has type ${foreign?.type})` : ''}${key ? '' : ', one atomic unit (no key)'}${recreated && byUnit.has(address) ? ' (table re-created: copied again)' : ''}`;
    let change: CopyTableAction['change'] = 'create';
    if (cp) {
      change = 'resume';
      const stored = cp.lastKey as { values?: unknown[] } | null;
      const last = Array.isArray(stored?.values) ? stored.values : null;
      const showKey = last !== null && keyIsDisplayable(key);
      const left = Math.max(0, rows - cp.rowsCopied);
      const rate = cp.seconds >= 1 ? cp.rowsCopied / cp.seconds : 0;
      const eta =
        rate > 0 && left > 0
          ? `, ETA ~${Math.max(1, Math.round(left / rate))}s at ${Math.round(rate).toLocaleString('en-US')} rows/s`
          : '';
      reason = `resume ${showKey ? `after ${key?.[0]?.name} ${String(last?.[0])}` : `after ${cp.rowsCopied.toLocaleString('en-US')} rows`}, ~${left.toLocaleString('en-US')} rows left${eta}`;
    }
    actions.push({
      kind: 'copy_table',
      id: address,
      address,
      dependsOn: [`table ${t.schema}.${t.name}`],
      change,
      reason,
      phase: 'data',
      locks: [`table ${t.schema}.${t.name}`],
      table: { schema: t.schema, name: t.name },
      columns,
      key,
      batchSize: batchRows(override?.batchSize ?? config.copy.batchSize, t),
      ...(override?.batchSize !== undefined || config.copy.batchSizeExplicit ? { batchSizeFixed: true as const } : {}),
      format,
      estimatedRows: rows,
      estimatedBytes: t.estimatedBytes,
      rowMicros: rowMicros(t.columns.filter((c) => c.generated === null)),
      // a mapped schema's copy reads the source's table
      ...(pair.source.schema !== t.schema || pair.source.name !== t.name
        ? { sourceTable: { schema: pair.source.schema, name: pair.source.name } }
        : {}),
      ...(digest ? { digest: digestRecipe(pair.source, t) } : {}),
    });
    if (digest) {
      readBacks.push({
        kind: 'read_back',
        id: readBackAddress(t),
        address: readBackAddress(t),
        dependsOn: [address],
        change: 'update',
        reason: 'the copy digest against the target, once copied',
        phase: 'post-data',
        // beside the table's index builds (a shared hold), not beside a constraint's ALTER TABLE
        locks: [`table ${t.schema}.${t.name}`],
        table: { schema: t.schema, name: t.name },
        digest: digestRecipe(pair.source, t),
        units: [address],
        estimatedRows: rows,
        estimatedBytes: t.estimatedBytes,
      });
    }
  }
  // which copies must be finished before an object of a table (or of its partitions) is built
  const tables = pairs.map((p) => p.target);
  const children = new Map<string, TableInfo[]>();
  for (const t of tables)
    if (t.parent)
      children.set(`table ${t.parent.schema}.${t.parent.name}`, [
        ...(children.get(`table ${t.parent.schema}.${t.parent.name}`) ?? []),
        t,
      ]);
  const unitsOf = new Map<string, string[]>();
  for (const a of actions) {
    const k = `table ${a.table.schema}.${a.table.name}`;
    unitsOf.set(k, [...(unitsOf.get(k) ?? []), a.id]);
  }
  const copiesOf = new Map<string, string[]>();
  const collect = (tableAddr: string, out: string[]): void => {
    out.push(...(unitsOf.get(tableAddr) ?? []));
    for (const c of children.get(tableAddr) ?? []) collect(`table ${c.schema}.${c.name}`, out);
  };
  for (const t of tables) {
    const out: string[] = [];
    collect(`table ${t.schema}.${t.name}`, out);
    copiesOf.set(`table ${t.schema}.${t.name}`, out.sort());
  }
  return { actions, findings, unchanged, readBacks, copiesOf };
}

/** The copies an after-data object waits for: those of its own table and of the tables it depends on. */
export function copiesNeededBy(
  o: CatalogObject,
  sourceByAddress: ReadonlyMap<string, CatalogObject>,
  plan: CopyPlan,
): string[] {
  if (plan.actions.length === 0 || o.phase !== 'post-data') return [];
  // a materialized view reads whatever its query reads; a sequence's value is read from a live source when it is
  // set, and any table's default may draw from it (not only its owner's): both wait for every copy
  if (o.kind === 'materialized_view' || o.kind === 'sequence_value') return plan.actions.map((a) => a.id);
  const tables = new Set<string>();
  if (o.table) tables.add(`table ${o.table.schema}.${o.table.name}`);
  for (const d of o.dependsOn) {
    const dep = sourceByAddress.get(d);
    if (dep?.kind === 'table') tables.add(d);
    else if (dep?.table) tables.add(`table ${dep.table.schema}.${dep.table.name}`);
  }
  const out = new Set<string>();
  for (const t of tables) for (const id of plan.copiesOf.get(t) ?? []) out.add(id);
  return [...out].sort();
}
