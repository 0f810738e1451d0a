import { createHash } from 'node:crypto';
import type pg from 'pg';
import { readLargeObjectProgress, type LargeObjectProgress } from './large-objects.js';
import { readLockHolder, type LockHolder } from './lock.js';

export interface CheckpointRow {
  readonly unit: string;
  readonly tableSchema: string;
  readonly tableName: string;
  readonly status: string;
  readonly rowsCopied: number;
  readonly bytesCopied: number;
  readonly lastKey: unknown;
  readonly error: string | null;
  /** Seconds between the unit's first and last committed batch: with rowsCopied, a throughput sample. */
  readonly seconds: number;
  /** The run that wrote its last batch (or failure). */
  readonly runId?: string | null;
}

export interface RunRow {
  readonly id: string;
  readonly command: string;
  readonly operator: string;
  readonly host: string;
  readonly status: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly planHash: string | null;
  readonly error: string | null;
}

export interface VerificationRow {
  readonly id: string;
  readonly result: string;
  readonly startedAt: string;
  /** Started after pgshift last changed the target (an object created, a batch copied). */
  readonly fresh: boolean;
  readonly finishedAt?: string | null;
  /** From the report's summary: tables compared, those with differences, rows and schema objects that differ. */
  readonly tables?: number;
  readonly tablesWithDifferences?: number;
  readonly rowDifferences?: number;
  readonly schemaDifferences?: number;
}

/** What the target's schema pgshift says, read in one go. Plans use `serial` and `objects`. */
export interface StateSnapshot {
  readonly exists: boolean;
  /** Digest of every state row that an apply changes: a saved plan is stale when it moved. */
  readonly serial: string;
  /** address -> definition hash of the objects pgshift created. */
  readonly objects: Readonly<Record<string, string>>;
  readonly checkpoints: readonly CheckpointRow[];
  readonly runs: readonly RunRow[];
  readonly lock: LockHolder | undefined;
  readonly lastVerification: VerificationRow | undefined;
  /** The last cutover or rollback (pgshift.cutover), if any. */
  readonly cutover?: CutoverSummary | undefined;
  /** The large objects copy's checkpoint (pgshift.large_object_copy), if one was written. */
  readonly largeObjects?: LargeObjectProgress | undefined;
}

export interface CutoverSummary {
  readonly id: string;
  readonly direction: 'cutover' | 'rollback';
  readonly status: string;
  readonly step: string;
  readonly startedAt: string;
  readonly switchedAt: string | null;
  readonly finishedAt: string | null;
  readonly freezeMs: number | null;
  /** Where the application points by the state: the target after a cutover no rollback reverted. */
  readonly applicationOn: 'source' | 'target';
  /** Why it stopped: set while it is stopped (`running`) or when it was aborted; null once it finished. */
  readonly error: string | null;
  /** History: the failure of an earlier attempt of a run that was resumed and then finished. */
  readonly earlierError?: string | null;
}

export const EMPTY_STATE_SERIAL = 'empty';

export async function readState(client: pg.ClientBase, recentRuns = 10): Promise<StateSnapshot> {
  const exists =
    (await client.query<{ ok: boolean }>(`SELECT to_regclass('pgshift.runs') IS NOT NULL AS ok`)).rows[0]?.ok === true;
  if (!exists)
    return {
      exists: false,
      serial: EMPTY_STATE_SERIAL,
      objects: {},
      checkpoints: [],
      runs: [],
      lock: undefined,
      lastVerification: undefined,
    };
  const objects = await client.query<{ address: string; definition_hash: string }>(
    'SELECT address, definition_hash FROM pgshift.objects ORDER BY address COLLATE "C"',
  );
  const checkpoints = await client.query<{
    unit: string;
    table_schema: string;
    table_name: string;
    status: string;
    rows_copied: string;
    bytes_copied: string;
    last_key: unknown;
    error: string | null;
    seconds: number | null;
    run_id: string | null;
  }>(`SELECT unit, table_schema, table_name, status, rows_copied, bytes_copied, last_key, error, run_id,
             extract(epoch FROM updated_at - started_at)::float8 AS seconds
        FROM pgshift.migration_checkpoints ORDER BY unit COLLATE "C"`);
  const runs = await client.query<{
    id: string;
    command: string;
    operator: string;
    host: string;
    status: string;
    started_at: Date;
    finished_at: Date | null;
    plan_hash: string | null;
    error: string | null;
  }>(
    'SELECT id, command, operator, host, status, started_at, finished_at, plan_hash, error FROM pgshift.runs ORDER BY started_at DESC LIMIT $1',
    [recentRuns],
  );
  const largeObjects = await readLargeObjectProgress(client);
  const h = createHash('sha256');
  for (const o of objects.rows) h.update(`o\0${o.address}\0${o.definition_hash}\n`);
  for (const c of checkpoints.rows)
    h.update(`c\0${c.unit}\0${c.status}\0${c.rows_copied}\0${JSON.stringify(c.last_key)}\n`);
  if (largeObjects) h.update(`l\0${largeObjects.status}\0${largeObjects.lastOid ?? ''}\0${largeObjects.objects}\n`);
  const empty = objects.rows.length + checkpoints.rows.length === 0 && !largeObjects;
  return {
    exists: true,
    serial: empty ? EMPTY_STATE_SERIAL : h.digest('hex').slice(0, 16),
    objects: Object.fromEntries(objects.rows.map((o) => [o.address, o.definition_hash])),
    checkpoints: checkpoints.rows.map((c) => ({
      unit: c.unit,
      tableSchema: c.table_schema,
      tableName: c.table_name,
      status: c.status,
      rowsCopied: Number(c.rows_copied),
      bytesCopied: Number(c.bytes_copied),
      lastKey: c.last_key,
      error: c.error,
      seconds: c.seconds ?? 0,
      runId: c.run_id,
    })),
    runs: runs.rows.map((r) => ({
      id: r.id,
      command: r.command,
      operator: r.operator,
      host: r.host,
      status: r.status,
      startedAt: r.started_at.toISOString(),
      finishedAt: r.finished_at?.toISOString() ?? null,
      planHash: r.plan_hash,
      error: r.error,
    })),
    lock: await readLockHolder(client),
    lastVerification: await readLastVerification(client),
    cutover: await readCutover(client),
    ...(largeObjects ? { largeObjects } : {}),
  };
}

async function readCutover(client: pg.ClientBase): Promise<CutoverSummary | undefined> {
  const has = await client.query<{ ok: boolean }>(`SELECT to_regclass('pgshift.cutover') IS NOT NULL AS ok`);
  if (has.rows[0]?.ok !== true) return undefined;
  const r = await client.query<{
    id: string;
    direction: 'cutover' | 'rollback';
    status: string;
    step: string;
    started_at: Date;
    switched_at: Date | null;
    finished_at: Date | null;
    freeze_ms: number | null;
    error: string | null;
  }>(
    'SELECT id, direction, status, step, started_at, switched_at, finished_at, freeze_ms, error FROM pgshift.cutover ORDER BY started_at DESC, id DESC LIMIT 1',
  );
  const x = r.rows[0];
  if (!x) return undefined;
  const onTarget =
    x.direction === 'cutover'
      ? x.status === 'done' || (x.status === 'running' && x.switched_at !== null)
      : x.status !== 'done';
  return {
    id: x.id,
    direction: x.direction,
    status: x.status,
    step: x.step,
    startedAt: x.started_at.toISOString(),
    switchedAt: x.switched_at?.toISOString() ?? null,
    finishedAt: x.finished_at?.toISOString() ?? null,
    freezeMs: x.freeze_ms,
    applicationOn: onTarget ? 'target' : 'source',
    // the record keeps the last failure; once a resumed run finished, it is no longer what the run's outcome is
    error: x.status === 'running' || x.status === 'aborted' ? x.error : null,
    earlierError: x.status === 'running' || x.status === 'aborted' ? null : x.error,
  };
}

async function readLastVerification(client: pg.ClientBase): Promise<VerificationRow | undefined> {
  const has = await client.query<{ ok: boolean; lo: boolean }>(
    `SELECT to_regclass('pgshift.verifications') IS NOT NULL AS ok, to_regclass('pgshift.large_object_copy') IS NOT NULL AS lo`,
  );
  if (has.rows[0]?.ok !== true) return undefined;
  // a large objects batch counts as a change as a copy's batch does
  const loChange = has.rows[0]?.lo === true ? '(SELECT max(updated_at) FROM pgshift.large_object_copy)' : 'NULL';
  const r = await client.query<{
    id: string;
    result: string;
    started_at: Date;
    finished_at: Date | null;
    fresh: boolean;
    summary: {
      tables?: number;
      tablesWithDifferences?: number;
      rowDifferences?: number;
      schemaDifferences?: number;
    } | null;
  }>(
    `SELECT v.id, v.result, v.started_at, v.finished_at, v.summary,
            v.started_at > coalesce(greatest((SELECT max(created_at) FROM pgshift.objects),
                                             (SELECT max(updated_at) FROM pgshift.migration_checkpoints),
                                             ${loChange}), '-infinity') AS fresh
       FROM pgshift.verifications v ORDER BY v.started_at DESC LIMIT 1`,
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  return {
    id: row.id,
    result: row.result,
    startedAt: row.started_at.toISOString(),
    fresh: row.fresh,
    finishedAt: row.finished_at?.toISOString() ?? null,
    tables: n(row.summary?.tables),
    tablesWithDifferences: n(row.summary?.tablesWithDifferences),
    rowDifferences: n(row.summary?.rowDifferences),
    schemaDifferences: n(row.summary?.schemaDifferences),
  };
}

/**
 * A unit's progress as it stands now. The state says `running` from a unit's first batch until its last; whether a
 * run is still copying it is the lock's to say: only the live holder of the target's lock copies, and it writes its
 * run id on every batch. A `running` unit of any other run (stopped by Ctrl-C, killed, its host gone) is
 * `interrupted`: the next apply resumes it after its last committed batch.
 */
export function unitProgress(
  c: Pick<CheckpointRow, 'status' | 'runId'> & { readonly unit?: string },
  lock: LockHolder | undefined,
  /** Units a live lease holds (an apply's slot or a `pgshift worker` copies them now, whatever the lock says). */
  leased: ReadonlySet<string> = new Set(),
): string {
  if (c.status !== 'running') return c.status;
  if (c.unit !== undefined && leased.has(c.unit)) return 'running';
  return lock?.alive === true && lock.runId === c.runId ? 'running' : 'interrupted';
}
