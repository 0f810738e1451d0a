import { canHashRecords } from '../verify/expressions.js';
import { orderForCreate } from '../catalog/order.js';
import type { ObjectParts } from '../catalog/kinds/kind.js';
import { kindModule } from '../catalog/kinds/registry.js';
import { addedColumnsSql, type TableSpec } from '../catalog/kinds/table.js';
import type { Catalog, CatalogObject } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import type { StateSnapshot } from '../state/snapshot.js';
import { qualified } from '../db/ident.js';
import { sha256 } from '../state/hash.js';
import type { Action, Finding, Plan, PlanSummary } from './model.js';
import { copiesNeededBy, copyActions } from './copy-actions.js';
import { Scope } from '../catalog/scope.js';
import { parsePositionDefinition, sequenceAtOrPast } from '../catalog/sequence-value.js';
import { mapForTarget, withTargetOverrides } from '../mapping/target-map.js';
import type { TablePair } from '../mapping/table-pairs.js';
import { CREATE_STREAM_ID, streamPlan, type StreamFacts } from './stream-plan.js';
import { unmatchedTableEntries } from './table-entries.js';
import type { LargeObjectSummary } from '../catalog/large-objects.js';
import { largeObjectsPlan } from './large-objects-plan.js';
import type { LargeObjectClash } from './large-object-facts.js';

export interface PlanInput {
  readonly config: Config;
  readonly configHash: string;
  readonly source: Catalog;
  readonly target: Catalog;
  readonly state: StateSnapshot;
  /** Redacted descriptions of the two sides (user@host:port/db). */
  readonly sourceDisplay: string;
  readonly targetDisplay: string;
  /** The source's readiness for a change stream and pgshift's slot (refresh reads them); absent: not read. */
  readonly stream?: StreamFacts;
  /** The source's large objects (refresh reads them); absent: not read. */
  readonly largeObjects?: LargeObjectSummary;
  /** Target large objects pgshift did not create with OIDs the source uses too (refresh reads them). */
  readonly largeObjectClash?: LargeObjectClash;
}

function tableKey(t: { schema: string; name: string }): string {
  return `table ${t.schema}.${t.name}`;
}

/**
 * Whether a sequence counts down (INCREMENT BY < 0), from its CREATE SEQUENCE or its identity column's options in
 * the table's definition; ascending when neither says.
 */
function descending(o: CatalogObject, byAddress: ReadonlyMap<string, CatalogObject>): boolean {
  if (o.schema === null) return false;
  const name = qualified(o.schema, o.name);
  for (const d of o.dependsOn) {
    const def = byAddress.get(d)?.definition ?? '';
    const at = def.indexOf(name);
    if (at < 0) continue;
    const m = /^(?: AS \S+)? START WITH \S+ INCREMENT BY (-?\d+)/.exec(def.slice(at + name.length));
    if (m?.[1]) return m[1].startsWith('-');
  }
  return false;
}

/**
 * The target's sequence is at or past the source's value: setting it would lower it (or change nothing). pgshift
 * never lowers a sequence on the target: the application may already have taken those values there.
 */
export { sequenceAtOrPast };

function reasonFor(o: CatalogObject): string {
  switch (o.kind) {
    case 'table':
      return 'not on the target';
    case 'sequence_value':
      return `set to the source's value (${o.definition})`;
    default:
      return 'not on the target';
  }
}

/**
 * The plan: a PURE function of config, both catalogs and the state. No IO, no clock; the same inputs give a
 * byte-identical plan. Objects that match are no-ops, objects that differ are drift findings (never dropped or
 * replaced), objects only on the target are never touched.
 */
export function computePlan(input: PlanInput): Plan {
  const { target } = input;
  // overrides are looked up by the tables' names on the target
  const config = withTargetOverrides(input.config);
  // the source as it lands on the target: extensions in the target's extension schema, schemas.map applied, RLS
  // for exposed tables; every rewrite is a note on its action or a finding
  // (the mapping's table pairs carry the key overrides as the file names them: it gets the config as loaded)
  const mapping = mapForTarget(input.config, input.source, target, new Set(Object.keys(input.state.objects)));
  const source = mapping.catalog;
  const cutOver = input.state.cutover;
  if (cutOver?.applicationOn === 'target') return cutOverPlan(input, source.fingerprint, cutOver.id);
  const scope = new Scope(config, source);
  const targetByAddress = new Map(target.objects.map((o) => [o.address, o]));
  const sourceByAddress = new Map(source.objects.map((o) => [o.address, o]));
  const inScope = orderForCreate(source.objects.filter((o) => scope.objectInScope(o)));
  const actions: Action[] = [];
  const findings: Finding[] = [...mapping.findings];
  const planned = new Set<string>();
  let unchanged = 0;
  const creating = new Set(
    inScope.filter((o) => o.kind === 'table' && !targetByAddress.has(o.address)).map((o) => o.address),
  );
  const copy = config.copy.data
    ? copyActions(
        config,
        mapping.pairs,
        target,
        scope,
        input.state.checkpoints,
        creating,
        // the copies digest what they read: the verification then reads back only the target
        config.verify.checksums === 'full' && canHashRecords(input.source.serverVersionNum, target.serverVersionNum),
      )
    : { actions: [], findings: [], unchanged: 0, readBacks: [], copiesOf: new Map<string, string[]>() };
  unchanged += copy.unchanged;

  const locksOf = (o: CatalogObject): string[] => {
    const locks = new Set<string>();
    if (o.table) locks.add(tableKey(o.table));
    if (o.kind === 'table' && o.schema) locks.add(tableKey({ schema: o.schema, name: o.name }));
    for (const dep of o.dependsOn) {
      const d = sourceByAddress.get(dep);
      if (d?.table && o.kind === 'constraint') locks.add(tableKey(d.table));
    }
    return [...locks].sort();
  };

  // an object that needs something out of scope (a view over an excluded table) is left out, and said so
  const left = new Set(source.objects.filter((o) => !scope.objectInScope(o)).map((o) => o.address));
  for (const o of inScope) {
    const missing = o.dependsOn.find((d) => left.has(d));
    if (missing) {
      left.add(o.address);
      findings.push({
        code: 'OUT_OF_SCOPE_DEPENDENCY',
        severity: 'warning',
        address: o.address,
        message: `${o.address} is left out: it depends on ${missing}, which tables.include/exclude leave out`,
        hint: 'Include what it depends on, or exclude it too.',
      });
      continue;
    }
    const t = targetByAddress.get(o.address);
    if (t && t.definition === o.definition) {
      unchanged++;
      continue;
    }
    const dependsOn = [...o.dependsOn.filter((d) => planned.has(d)), ...copiesNeededBy(o, sourceByAddress, copy)];
    const base = { id: o.address, address: o.address, dependsOn, phase: o.phase, locks: locksOf(o) } as const;
    if (o.kind === 'sequence_value') {
      const value = parsePositionDefinition(o.definition);
      const now = t ? parsePositionDefinition(t.definition) : undefined;
      if (value && now && sequenceAtOrPast(now, value, descending(o, sourceByAddress))) {
        // already past the source's value (the application took values there, or a live source was reset): kept
        unchanged++;
        continue;
      }
      actions.push({
        ...base,
        kind: 'set_sequence_value',
        change: 'update',
        reason: reasonFor(o),
        sql: o.createSql,
        ...(o.schema ? { sequence: { schema: o.schema, name: o.name } } : {}),
        ...(value ? { value } : {}),
      });
      planned.add(o.address);
      continue;
    }
    const added =
      t && o.kind === 'table' && t.kind === 'table'
        ? addedColumnsSql(o as ObjectParts<TableSpec>, t as ObjectParts<TableSpec>)
        : null;
    if (added) {
      // the source gained columns (a change stream stops on it until the target has them too)
      actions.push({
        ...base,
        kind: 'create_object',
        change: 'update',
        reason: `the source added column(s) ${(o.spec as TableSpec).columns
          .slice((t?.spec as TableSpec).columns.length)
          .map((c) => c.name)
          .join(', ')}`,
        objectKind: o.kind,
        sql: added,
        definitionHash: sha256(o.definition).slice(0, 16),
      });
      planned.add(o.address);
      continue;
    }
    if (t) {
      findings.push({
        code: 'OBJECT_DRIFT',
        severity: 'warning',
        address: o.address,
        message: `${o.address} exists on the target with a different definition; pgshift leaves it as it is`,
        hint: 'Compare the object on both sides; change the target by hand, or drop it there to let pgshift create it.',
      });
      continue;
    }
    const note = mapping.notes.get(o.address);
    const lockMode = kindModule(o.kind).lockMode?.(o);
    actions.push({
      ...base,
      kind: 'create_object',
      change: 'create',
      reason: note ? `${reasonFor(o)}; ${note}` : reasonFor(o),
      objectKind: o.kind,
      sql: o.createSql,
      definitionHash: sha256(o.definition).slice(0, 16),
      ...(lockMode ? { lockMode, ...(o.table ? { table: { schema: o.table.schema, name: o.table.name } } : {}) } : {}),
    });
    planned.add(o.address);
  }

  // data between the two schema phases: copies wait for their table, after-data objects for their copies
  const firstPostData = actions.findIndex((a) => a.phase === 'post-data');
  // a copy also waits for its table's RLS (exposed schemas: no row before it)
  const copies = copy.actions.map((a) => {
    const rls = `rls ${a.table.schema}.${a.table.name}`;
    const rlsFirst = sourceByAddress.get(rls)?.phase === 'pre-data' ? [rls] : [];
    return { ...a, dependsOn: [...a.dependsOn, ...rlsFirst].filter((d) => planned.has(d)) };
  });
  // the change stream first: every copy waits for it (its snapshots are then after the slot's consistent point)
  const targetOfSource = new Map(mapping.pairs.map((p) => [`${p.source.schema}.${p.source.name}`, p.target]));
  const stream = streamPlan({
    config,
    targetOf: (t) => {
      const mapped = targetOfSource.get(`${t.schema}.${t.name}`) ?? t;
      return { schema: mapped.schema, name: mapped.name };
    },
    facts: input.stream,
    published: publishedTables(mapping.pairs, scope),
    parentOf: new Map(
      input.source.tables.flatMap((t) => (t.parent ? [[`${t.schema}.${t.name}`, t.parent] as const] : [])),
    ),
    sourceDatabase: input.source.database,
    copiesStarted: input.state.checkpoints.length > 0,
  });
  const streamFirst = stream.actions.some((a) => a.id === CREATE_STREAM_ID);
  const streamedCopies = streamFirst
    ? copies.map((a) => ({ ...a, dependsOn: [...a.dependsOn, CREATE_STREAM_ID] }))
    : copies;
  // the large objects after the copies, in the data phase (after the roles that own them exist)
  const lo = largeObjectsPlan(
    config,
    target,
    input.largeObjects,
    input.state.largeObjects,
    planned,
    input.largeObjectClash,
  );
  unchanged += lo.unchanged;
  findings.push(...lo.findings);
  actions.splice(firstPostData < 0 ? actions.length : firstPostData, 0, ...streamedCopies, ...lo.actions);
  // a replica identity is set on the target's table too: after the action creating it
  const streamActions = stream.actions.map((a) =>
    a.kind === 'set_replica_identity'
      ? { ...a, dependsOn: [...a.dependsOn, ...a.targetTables.map(tableKey).filter((k) => planned.has(k))] }
      : a,
  );
  actions.unshift(...streamActions);
  findings.push(...copy.findings, ...stream.findings);
  findings.push(...unmatchedTableEntries(input.config, input.source)); // tables.exclude/overrides naming no table

  for (const t of source.tables) {
    if (t.kind === 'partitioned' || !scope.tableInScope(t.schema, t.name)) continue;
    if (!t.key && config.copy.data && !config.tables.overrides[`${t.schema}.${t.name}`]?.key) {
      findings.push({
        code: 'TABLE_WITHOUT_KEY',
        severity: 'warning',
        address: tableKey(t),
        message: `${tableKey(t)} has no primary key or unique NOT NULL key: it will be copied as one atomic unit (no resume inside it)`,
        hint: `Add a primary key, or name key columns in tables.overrides."${t.schema}.${t.name}".key.`,
      });
    }
  }

  // a split table's read-back: after all its parts, beside the builds of its indexes
  actions.push(...copy.readBacks);

  // the verification gate: last, after everything; planned when something changes or the last one is not a
  // fresh pass (so a plan after a verified apply says No changes)
  const last = input.state.lastVerification;
  if (config.copy.data && (actions.length > 0 || !last || last.result !== 'passed' || !last.fresh)) {
    actions.push({
      kind: 'verify',
      id: 'verify',
      address: 'verify',
      dependsOn: actions.map((a) => a.id),
      change: 'update',
      reason: `${config.verify.rowCounts ? 'row counts, ' : ''}checksums ${config.verify.checksums}${config.verify.checksums === 'full' ? '' : `, sample ${config.verify.sample.percent}% (seed ${config.verify.sample.seed})`}${actions.length === 0 ? (last ? ` (last verification ${last.result !== 'passed' ? 'failed' : 'is older than the last change'})` : ' (never verified)') : ''}`,
      phase: 'post-data',
      locks: [],
      checksums: config.verify.checksums,
    });
  }

  // a split table counts once (its parts are one line of the plan), its read-back not at all (as the verification)
  const seenSplit = new Set<string>();
  const counted = actions.filter((a) => {
    if (a.kind === 'read_back') return false;
    if (a.kind !== 'copy_table' || !a.part) return true;
    const k = `${a.table.schema}.${a.table.name}`;
    if (seenSplit.has(k)) return false;
    seenSplit.add(k);
    return true;
  });
  const summary: PlanSummary = {
    add: counted.filter((a) => a.change === 'create').length,
    resume: counted.filter((a) => a.change === 'resume').length,
    change: counted.filter((a) => a.change === 'update' && a.kind !== 'verify').length,
    destroy: counted.filter((a) => a.change === 'delete').length,
    unchanged,
  };
  return {
    formatVersion: 1,
    migration: config.name,
    source: input.sourceDisplay,
    target: input.targetDisplay,
    configHash: input.configHash,
    sourceFingerprint: source.fingerprint,
    targetFingerprint: target.fingerprint,
    stateSerial: input.state.serial,
    actions,
    findings,
    summary,
    strategy: stream.strategy,
  };
}

/** The in-scope tables to publish, by their source names: partitions only when their partitioned table is not. */
function publishedTables(pairs: readonly TablePair[], scope: Scope): Array<{ schema: string; name: string }> {
  return pairs
    .filter(({ target: t }) => scope.tableInScope(t.schema, t.name))
    .filter(
      ({ target: t }) => t.kind !== 'partition' || !t.parent || !scope.tableInScope(t.parent.schema, t.parent.name),
    )
    .map(({ source: s }) => ({ schema: s.schema, name: s.name }))
    .sort((a, b) => (a.schema === b.schema ? (a.name < b.name ? -1 : 1) : a.schema < b.schema ? -1 : 1));
}

/**
 * The application is on the target (a cutover no rollback has reverted): pgshift changes nothing there. The plan
 * has no action and one blocker that names the cutover and the way back (`pgshift rollback`).
 */
function cutOverPlan(input: PlanInput, sourceFingerprint: string, cutoverId: string): Plan {
  return {
    formatVersion: 1,
    migration: input.config.name,
    source: input.sourceDisplay,
    target: input.targetDisplay,
    configHash: input.configHash,
    sourceFingerprint,
    targetFingerprint: input.target.fingerprint,
    stateSerial: input.state.serial,
    actions: [],
    findings: [
      {
        code: 'CUTOVER_CUT_OVER',
        severity: 'blocker',
        message: `the application is cut over to this target (cutover ${cutoverId}): pgshift changes nothing on it until a rollback (setting its sequences or rows from the frozen source would undo the application's writes)`,
        hint: 'Run `pgshift status` to see the cutover; `pgshift rollback` points the application back to the source, after which plan and apply work again.',
      },
    ],
    summary: { add: 0, resume: 0, change: 0, destroy: 0, unchanged: 0 },
  };
}
