import type { DigestRecipe } from '../verify/expressions.js';
import type { ObjectKind } from '../catalog/types.js';
import type { LockMode } from '../catalog/kinds/kind.js';
import type { Finding, Severity } from '../errors/finding.js';

/** What an action does to its object, as `terraform plan` says it. */
export type ChangeKind = 'create' | 'resume' | 'update' | 'delete' | 'noop';
export type ActionPhase = 'pre-data' | 'data' | 'post-data';

export interface ActionBase {
  /** Stable id: the address (unique within a plan). */
  readonly id: string;
  readonly address: string;
  readonly dependsOn: readonly string[];
  readonly change: ChangeKind;
  readonly reason: string;
  readonly phase: ActionPhase;
  /** Tables this action locks: two actions sharing one never run at the same time, but shared builds (lockModeOf). */
  readonly locks: readonly string[];
}

export interface CreateObjectAction extends ActionBase {
  readonly kind: 'create_object';
  readonly objectKind: ObjectKind;
  readonly sql: readonly string[];
  /** Hash of the source definition, recorded in pgshift.objects. */
  readonly definitionHash: string;
  /** How its statements lock its table (src/catalog/kinds/kind.ts LockMode); absent: the table alone. */
  readonly lockMode?: LockMode;
  /** The table an attaching build attaches to (with lockMode). */
  readonly table?: { readonly schema: string; readonly name: string };
}

export interface SetSequenceValueAction extends ActionBase {
  readonly kind: 'set_sequence_value';
  /** setval() with the value read when the plan was made (shown in the plan; the fallback). */
  readonly sql: readonly string[];
  /** The sequence: apply reads its value on the source when the action runs (after the copies it waits for). */
  readonly sequence?: { readonly schema: string; readonly name: string };
  /**
   * The source's value when the plan was made (the fallback when the source cannot be read at run time). Apply
   * never lowers the target's sequence: it sets greatest(target's, source's).
   */
  readonly value?: { readonly last: string; readonly called: boolean };
}

export interface CopyTableAction extends ActionBase {
  readonly kind: 'copy_table';
  readonly table: { readonly schema: string; readonly name: string };
  /** Where the rows come from when the source table has another name (schemas.map); else `table`. */
  readonly sourceTable?: { readonly schema: string; readonly name: string };
  /** Columns copied, in order (stored generated columns are left to the target). */
  readonly columns: readonly string[];
  /** Key columns and their types (format_type) for keyset batches; null: one atomic unit. */
  readonly key: ReadonlyArray<{ readonly name: string; readonly type: string }> | null;
  readonly batchSize: number;
  /**
   * The batch size was asked for (copy.batch_size, or the table's override): batches keep it. Absent: a key in no
   * heap order gets fewer, larger batches (src/copy/heap-order.ts).
   */
  readonly batchSizeFixed?: true;
  /** binary unless a column's type is not built in (its binary form may carry server-specific OIDs). */
  readonly format: 'binary' | 'text';
  readonly estimatedRows: number;
  readonly estimatedBytes: number;
  /**
   * What moving one row costs beyond its bytes, in microseconds, by its columns' types (src/apply/priority.ts
   * rowMicros): for the order of the actions only. Absent in plans saved before it was recorded.
   */
  readonly rowMicros?: number;
  /**
   * How the copy digests the rows it reads, batch by batch in each batch's snapshot (verify.checksums: full):
   * the verification then reads back only the target. Absent: no digest (the verification compares both sides).
   */
  readonly digest?: DigestRecipe;
  /**
   * One key range of a split table (copy.split_tables_larger_than): part `index` (1-based) of `of`. Its range comes
   * from the key boundaries apply samples on the source once and keeps in the state (pgshift.copy_splits); the plan
   * holds no key value. Absent: the whole table.
   */
  readonly part?: { readonly index: number; readonly of: number };
}

/**
 * Reads a copied table back on the target once its copy (all its parts, when split) is done, and compares it with
 * the sum of its units' digests.
 */
export interface ReadBackAction extends ActionBase {
  readonly kind: 'read_back';
  readonly table: { readonly schema: string; readonly name: string };
  readonly digest: DigestRecipe;
  /** The copy units (parts) whose digests sum to the table's. */
  readonly units: readonly string[];
  readonly estimatedRows: number;
  /** The table's estimated size (what the read-back hashes); absent in plans saved before it was recorded. */
  readonly estimatedBytes?: number;
}

/** Runs the verification policy after everything else; its failure is apply's exit 3. */
export interface VerifyAction extends ActionBase {
  readonly kind: 'verify';
  readonly checksums: 'none' | 'sampled' | 'full';
}

/**
 * Drops one object pgshift created, with the removal of its record in pgshift.objects (`pgshift destroy`; change
 * `delete`). Its statements come from the object's kind (src/destroy/drop-sql.ts), never with CASCADE.
 */
export interface DropObjectAction extends ActionBase {
  readonly kind: 'drop_object';
  readonly objectKind: ObjectKind;
  readonly sql: readonly string[];
}

/** Sets REPLICA IDENTITY FULL on source tables without a usable one (cutover.stream.replica_identity_full). */
export interface SetReplicaIdentityAction extends ActionBase {
  readonly kind: 'set_replica_identity';
  /** The source tables (source names). */
  readonly tables: ReadonlyArray<{ readonly schema: string; readonly name: string }>;
  /**
   * The same tables on the target (target names): they get FULL too, so that the table reads the same on both
   * sides (schema parity, no drift in the next plan).
   */
  readonly targetTables: ReadonlyArray<{ readonly schema: string; readonly name: string }>;
  readonly sql: readonly string[];
}

/**
 * Creates the change stream on the source (publications, then the pgoutput slot) and records it in the state. Every
 * copy depends on it: each copy snapshot is then taken after the slot's consistent point.
 */
export interface CreateStreamAction extends ActionBase {
  readonly kind: 'create_stream';
  readonly slot: string;
  readonly publication: string;
  /** The inserts-only publication's name (created only when a table's mode is `inserts`). */
  readonly insertsPublication: string;
  /** The source tables (source names) and what is published of each. */
  readonly tables: ReadonlyArray<{ readonly schema: string; readonly name: string; readonly mode: 'all' | 'inserts' }>;
}

/** Drops the change stream on the source (destroy): slot, publications, replica identities put back, state rows. */
export interface DropStreamAction extends ActionBase {
  readonly kind: 'drop_stream';
  readonly slot: string;
  readonly publication: string;
  readonly insertsPublication: string;
  /** What exists and goes, for the plan: `replication slot x`, `publication y`. */
  readonly drops: readonly string[];
  /** The replica identities put back (source tables), for the plan. */
  readonly identities: ReadonlyArray<{
    readonly schema: string;
    readonly name: string;
    readonly from: string;
    readonly to: string;
  }>;
}

/**
 * Copies the source's large objects (pg_largeobject) with their OIDs, owners and ACLs, in resumable batches in OID
 * order (src/copy/large-objects.ts): each batch's objects and its checkpoint commit in one target transaction.
 */
export interface LargeObjectsAction extends ActionBase {
  readonly kind: 'large_objects';
  /** Objects on the source when the plan was made (an estimate on a live source). */
  readonly objects: number;
  /** The size of pg_largeobject on the source: an estimate of the bytes (dead space included). */
  readonly estimatedBytes: number;
  /** The last OID a committed batch copied (resume after it); null: from the start. */
  readonly resumeAfter: string | null;
  /** Source owner -> target owner (roles.owners: mapped and roles.map names it); others: the connecting role. */
  readonly owners: Readonly<Record<string, string>>;
  /** Source grantee -> target grantee ('' is PUBLIC); a grantee not named here is not granted. */
  readonly grantees: Readonly<Record<string, string>>;
}

/** Unlinks the large objects pgshift created (pgshift.large_objects) in batches (`pgshift destroy`). */
export interface DropLargeObjectsAction extends ActionBase {
  readonly kind: 'drop_large_objects';
  /** How many pgshift recorded as created. */
  readonly objects: number;
}

/** The closed union of what apply and destroy can do. Every switch over `kind` ends in assertNever. */
export type Action =
  | CreateObjectAction
  | SetSequenceValueAction
  | CopyTableAction
  | ReadBackAction
  | VerifyAction
  | DropObjectAction
  | SetReplicaIdentityAction
  | CreateStreamAction
  | DropStreamAction
  | LargeObjectsAction
  | DropLargeObjectsAction;
export type ActionKind = Action['kind'];

export type { Finding, Severity };

export interface PlanSummary {
  readonly add: number;
  readonly resume: number;
  readonly change: number;
  readonly destroy: number;
  readonly unchanged: number;
}

/** How the cutover's last changes reach the target (cutover.strategy resolved), and the slot's WAL if one exists. */
export interface PlanStrategy {
  readonly strategy: 'stream' | 'freeze';
  /** Why: the config, or the source's readiness under auto. */
  readonly why: string;
  /** pgshift's slot on the source (volatile numbers: a saved plan's decision leaves them out). */
  readonly slot?: {
    readonly name: string;
    readonly retainedBytes: number | null;
    readonly walStatus: string | null;
    readonly maxSlotWalKeepSizeMb: number | null;
  };
}

export interface Plan {
  readonly formatVersion: 1;
  readonly migration: string;
  /** Redacted description of the two sides, for the reader. */
  readonly source: string;
  readonly target: string;
  readonly configHash: string;
  readonly sourceFingerprint: string;
  readonly targetFingerprint: string;
  readonly stateSerial: string;
  readonly actions: readonly Action[];
  readonly findings: readonly Finding[];
  readonly summary: PlanSummary;
  /** The cutover strategy (absent in plans of older versions and in destroy plans). */
  readonly strategy?: PlanStrategy;
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}

export function hasChanges(plan: Plan): boolean {
  return plan.actions.length > 0;
}

export function blockers(plan: Plan): Finding[] {
  return plan.findings.filter((f) => f.severity === 'blocker');
}
