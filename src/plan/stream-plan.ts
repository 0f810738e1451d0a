/**
 * The change stream in the plan (pure): which cutover strategy runs and why, the stream's objects on the source as
 * actions (set_replica_identity per table, then ONE create_stream before every copy), and findings about the slot
 * (WAL it retains, lost), tables without a usable replica identity, and copies that began before any stream.
 */
import type { Config } from '../config/types.js';
import { streamNames } from '../stream/names.js';
import type { SlotStatus } from '../stream/slot-status.js';
import type { Action, CreateStreamAction, Finding, PlanStrategy, SetReplicaIdentityAction } from './model.js';
import { gapFindings, lostSlotFinding, slotFindings } from './stream-findings.js';

export interface TableName {
  readonly schema: string;
  readonly name: string;
}

/** What refresh read about the stream (src/plan/refresh.ts); absent: not read (strategy auto then means freeze). */
export interface StreamFacts {
  readonly readiness: {
    readonly ok: boolean;
    readonly reasons: readonly string[];
    /** Leaf tables of the whole source without a usable replica identity, with the fixing statement. */
    readonly tablesNeedingIdentity: ReadonlyArray<
      TableName & { readonly identity: 'd' | 'n'; readonly statement: string }
    >;
    /** Tables no publication can hold (unlogged), with why; absent in older facts. */
    readonly unpublishable?: ReadonlyArray<TableName & { readonly reason: string }>;
  };
  /** pgshift's stream row in the state, if any. */
  readonly recorded: { readonly slot: string; readonly publication: string } | undefined;
  /** The recorded slot on the source (exists false when it is gone). */
  readonly slot: SlotStatus | undefined;
}

export interface StreamPlanInput {
  readonly config: Config;
  readonly facts: StreamFacts | undefined;
  /** In-scope source tables to publish (source names; partitions only without their partitioned table). */
  readonly published: readonly TableName[];
  /** child -> parent of every source table (source names), to find the published table of a leaf partition. */
  readonly parentOf: ReadonlyMap<string, TableName>;
  /** A source table's name on the target (schemas.map); default: the same. */
  readonly targetOf?: (t: TableName) => TableName;
  /** The source's database (part of the slot name's hash: slot names are per cluster). */
  readonly sourceDatabase: string;
  /** Some copy unit has a checkpoint already. */
  readonly copiesStarted: boolean;
}

export interface StreamPlan {
  readonly strategy: PlanStrategy;
  readonly actions: Action[];
  readonly findings: Finding[];
}

export const CREATE_STREAM_ID = 'stream';
type Gap = StreamFacts['readiness']['tablesNeedingIdentity'][number];
const key = (t: TableName): string => `${t.schema}.${t.name}`;

function notAvailable(explicit: boolean, why: string, reasons: readonly string[], hint: string): Finding {
  return {
    code: 'STREAM_NOT_AVAILABLE',
    severity: explicit ? 'blocker' : 'warning',
    message: `${why}${reasons.length > 0 ? `: ${reasons.join('; ')}` : ''}${explicit ? '' : ' (the cutover uses a write freeze and a final sync)'}`,
    hint,
  };
}

export function streamPlan(input: StreamPlanInput): StreamPlan {
  const { config, facts } = input;
  const chosen = config.cutover.strategy;
  const explicit = chosen === 'stream';
  const freeze = (why: string, findings: Finding[] = []): StreamPlan => ({
    strategy: { strategy: 'freeze', why },
    actions: [],
    findings,
  });
  if (chosen === 'freeze') return freeze('cutover.strategy: freeze');
  // no row is copied: there is nothing for a stream to keep in step
  if (!config.copy.data && !facts?.recorded) return freeze('copy.data: false (no rows are copied)');
  if (!facts) {
    const why = "the source's readiness for a change stream was not read";
    return explicit
      ? { ...freeze(why), findings: [notAvailable(true, why, [], 'Run `pgshift plan` against the source.')] }
      : freeze(`cutover.strategy omitted and ${why}`);
  }
  const names = streamNames(config.name, input.sourceDatabase);
  const slotName = facts.recorded?.slot ?? names.slot;
  const gaps = tableGaps(input, facts);

  if (facts.recorded) {
    const slot = facts.slot;
    const strategy: PlanStrategy = {
      strategy: 'stream',
      why: `the change stream exists (replication slot ${slotName})`,
      ...(slot?.exists
        ? {
            slot: {
              name: slotName,
              retainedBytes: slot.retainedBytes,
              walStatus: slot.walStatus,
              maxSlotWalKeepSizeMb: slot.maxSlotWalKeepSizeMb,
            },
          }
        : {}),
    };
    const findings = slot?.exists ? slotFindings(config, slotName, slot) : [lostSlotFinding(slotName, 'gone')];
    return {
      strategy,
      actions: [],
      findings: [
        ...findings,
        ...gapFindings(
          config,
          gaps.map((g) => g.gap),
        ),
      ],
    };
  }

  if (input.copiesStarted) {
    const why =
      'copies of this migration began before any change stream existed (their rows are not covered by a slot)';
    const hint =
      'Run `pgshift destroy` and `pgshift apply` to copy again under a stream, or set cutover.strategy: freeze.';
    return { ...freeze(why), findings: [notAvailable(explicit, why, [], hint)] };
  }
  if (!facts.readiness.ok) {
    const why = 'the source does not allow a change stream';
    const hint = explicit
      ? 'Fix each reason on the source, or set cutover.strategy: freeze.'
      : 'Fix each reason on the source to stream (a shorter write freeze), or set cutover.strategy: freeze to silence this.';
    return {
      ...freeze(`${why}: ${facts.readiness.reasons.join('; ')}`),
      findings: [notAvailable(explicit, why, facts.readiness.reasons, hint)],
    };
  }

  const full = config.cutover.stream.replicaIdentityFull;
  const unpublishable = new Set((facts.readiness.unpublishable ?? []).map(key));
  const identity: SetReplicaIdentityAction[] = full
    ? gaps.map(({ gap }) => ({
        kind: 'set_replica_identity',
        id: `replica identity ${key(gap)}`,
        address: `replica identity of ${key(gap)}`,
        dependsOn: [],
        change: 'update',
        reason: `${gap.identity === 'n' ? 'nothing' : 'default'} -> full (its updates and deletes stream; destroy puts the old identity back)`,
        phase: 'pre-data',
        locks: [],
        tables: [{ schema: gap.schema, name: gap.name }],
        targetTables: [input.targetOf ? input.targetOf(gap) : { schema: gap.schema, name: gap.name }],
        sql: [gap.statement],
      }))
    : [];
  const insertsOnly = full ? new Set<string>() : new Set(gaps.map((g) => key(g.published)));
  const tables = input.published
    .filter((t) => !unpublishable.has(key(t)))
    .map((t) => ({ ...t, mode: insertsOnly.has(key(t)) ? 'inserts' : 'all' }) as const);
  const inserts = tables.filter((t) => t.mode === 'inserts').length;
  const create: CreateStreamAction = {
    kind: 'create_stream',
    id: CREATE_STREAM_ID,
    address: `replication slot ${names.slot}`,
    dependsOn: identity.map((a) => a.id),
    change: 'create',
    reason: `publication ${names.publication} (${tables.length - inserts} tables)${inserts > 0 ? `, ${names.insertsPublication} (${inserts} tables, inserts only)` : ''}, slot pgoutput, before the first copy`,
    phase: 'pre-data',
    locks: [],
    slot: names.slot,
    publication: names.publication,
    insertsPublication: names.insertsPublication,
    tables,
  };
  return {
    strategy: {
      strategy: 'stream',
      why: explicit ? 'cutover.strategy: stream' : 'cutover.strategy omitted and the source allows a change stream',
    },
    actions: [...identity, create],
    findings: [
      ...gapFindings(
        config,
        gaps.map((g) => g.gap),
      ),
      ...unpublishableFindings(input, facts),
    ],
  };
}

/** In-scope tables left out of the publication (unlogged): the cutover verification must compare them. */
function unpublishableFindings(input: StreamPlanInput, facts: StreamFacts): Finding[] {
  const published = new Set(input.published.map(key));
  return (facts.readiness.unpublishable ?? [])
    .filter((t) => published.has(key(t)))
    .map((t) => ({
      code: 'STREAM_TABLE_NOT_PUBLISHED',
      severity: 'warning',
      address: `table ${key(t)}`,
      message: `table ${key(t)} on the source is ${t.reason}: its changes are not in the WAL, so the change stream cannot carry them; the cutover verification must compare it`,
      hint: `ALTER TABLE ${key(t)} SET LOGGED on the source streams it (it rewrites the table).`,
    }));
}

/** The identity gaps under the published tables, each with the published table it belongs to. */
function tableGaps(input: StreamPlanInput, facts: StreamFacts): Array<{ gap: Gap; published: TableName }> {
  const published = new Map(input.published.map((t) => [key(t), t]));
  const out: Array<{ gap: Gap; published: TableName }> = [];
  for (const gap of facts.readiness.tablesNeedingIdentity) {
    let at: TableName | undefined = gap;
    for (let depth = 0; at && !published.has(key(at)) && depth < 64; depth++) at = input.parentOf.get(key(at));
    const p = at ? published.get(key(at)) : undefined;
    if (p) out.push({ gap, published: p });
  }
  return out;
}
