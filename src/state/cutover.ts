/** pgshift.cutover, read and written (moved from src/cutover/record.ts: every pgshift.* write goes through src/state). */
import type { Selectable } from 'kysely';
import type pg from 'pg';
import { scrub } from '../log/redact.js';
import { stateDb, type StateTables } from './db.js';

/** One row of pgshift.cutover: a cutover or a rollback, step by step (no secret, no patient value). */
export interface CutoverRow {
  readonly id: string;
  readonly direction: 'cutover' | 'rollback';
  /** For a rollback: the cutover it reverts. */
  readonly cutoverId: string | null;
  readonly runId: string;
  readonly status: 'running' | 'done' | 'aborted' | 'rolled_back';
  readonly step: string;
  readonly operator: string;
  readonly host: string;
  readonly startedAt: Date;
  readonly frozenAt: Date | null;
  readonly switchedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly freezeMs: number | null;
  readonly maxFreezeMs: number;
  readonly envFile: string | null;
  readonly variable: string | null;
  readonly backupFile: string | null;
  readonly oldValueSha256: string | null;
  readonly newValueRedacted: string | null;
  readonly steps: readonly StepRecord[];
  readonly counts: Readonly<Record<string, number>>;
  readonly error: string | null;
}

export interface StepRecord {
  readonly step: string;
  readonly at: string;
  readonly ms: number;
  readonly detail: string;
}

type Raw = Selectable<StateTables['pgshift.cutover']>;

function toRow(r: Raw): CutoverRow {
  return {
    id: r.id,
    direction: r.direction,
    cutoverId: r.cutover_id,
    runId: r.run_id,
    status: r.status,
    step: r.step,
    operator: r.operator,
    host: r.host,
    startedAt: r.started_at,
    frozenAt: r.frozen_at,
    switchedAt: r.switched_at,
    finishedAt: r.finished_at,
    freezeMs: r.freeze_ms,
    maxFreezeMs: r.max_freeze_ms,
    envFile: r.env_file,
    variable: r.variable,
    backupFile: r.backup_file,
    oldValueSha256: r.old_value_sha256,
    newValueRedacted: r.new_value_redacted,
    steps: r.steps,
    counts: r.counts,
    error: r.error,
  };
}

export async function hasCutoverTable(client: pg.ClientBase): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>("SELECT to_regclass('pgshift.cutover') IS NOT NULL AS ok");
  return r.rows[0]?.ok === true;
}

/** The most recent cutover or rollback (by start), or undefined. */
export async function latestRecord(
  client: pg.ClientBase,
  direction?: 'cutover' | 'rollback',
): Promise<CutoverRow | undefined> {
  if (!(await hasCutoverTable(client))) return undefined;
  let q = stateDb(client).selectFrom('pgshift.cutover').selectAll();
  if (direction) q = q.where('direction', '=', direction);
  const row = await q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
  return row ? toRow(row) : undefined;
}

export async function insertRecord(
  client: pg.ClientBase,
  r: Pick<
    CutoverRow,
    | 'id'
    | 'direction'
    | 'cutoverId'
    | 'runId'
    | 'operator'
    | 'host'
    | 'maxFreezeMs'
    | 'envFile'
    | 'variable'
    | 'newValueRedacted'
  >,
): Promise<void> {
  await stateDb(client)
    .insertInto('pgshift.cutover')
    .values({
      id: r.id,
      direction: r.direction,
      cutover_id: r.cutoverId,
      run_id: r.runId,
      status: 'running',
      step: 'started',
      operator: r.operator,
      host: r.host,
      max_freeze_ms: r.maxFreezeMs,
      env_file: r.envFile,
      variable: r.variable,
      new_value_redacted: r.newValueRedacted,
    })
    .execute();
}

export interface RecordPatch {
  readonly status?: CutoverRow['status'];
  readonly step?: string;
  readonly frozenAt?: 'now' | null;
  readonly switchedAt?: 'now';
  readonly finished?: boolean;
  readonly freezeMs?: number;
  readonly backupFile?: string;
  readonly oldValueSha256?: string;
  readonly counts?: Readonly<Record<string, number>>;
  readonly error?: string | null;
  /** Appended to the steps list. */
  readonly done?: Omit<StepRecord, 'at'>;
}

/**
 * Updates the row (one statement: the step and its record commit together). Kept as SQL text: each field's CASE
 * (keep, set, clear, append a step) reads more plainly than its query-builder form.
 */
export async function updateRecord(client: pg.ClientBase, id: string, p: RecordPatch): Promise<void> {
  await client.query(
    `UPDATE pgshift.cutover SET
       status = coalesce($2, status),
       step = coalesce($3, step),
       frozen_at = CASE WHEN $4::text = 'now' THEN clock_timestamp() WHEN $4::text = 'clear' THEN NULL ELSE frozen_at END,
       switched_at = CASE WHEN $5::boolean THEN coalesce(switched_at, clock_timestamp()) ELSE switched_at END,
       finished_at = CASE WHEN $6::boolean THEN clock_timestamp() ELSE finished_at END,
       freeze_ms = coalesce($7, freeze_ms),
       backup_file = coalesce($8, backup_file),
       old_value_sha256 = coalesce($9, old_value_sha256),
       counts = counts || coalesce($10::jsonb, '{}'::jsonb),
       error = CASE WHEN $11::boolean THEN $12 ELSE error END,
       steps = CASE WHEN $13::jsonb IS NULL THEN steps ELSE steps || jsonb_build_array($13::jsonb || jsonb_build_object('at', clock_timestamp())) END
     WHERE id = $1`,
    [
      id,
      p.status ?? null,
      p.step ?? null,
      p.frozenAt === 'now' ? 'now' : p.frozenAt === null ? 'clear' : null,
      p.switchedAt === 'now',
      p.finished === true,
      p.freezeMs ?? null,
      p.backupFile ?? null,
      p.oldValueSha256 ?? null,
      p.counts ? JSON.stringify(p.counts) : null,
      p.error !== undefined,
      p.error == null ? null : scrub(p.error),
      p.done ? JSON.stringify({ ...p.done, detail: scrub(p.done.detail) }) : null,
    ],
  );
}

/**
 * Where the application points, by the state: `target` after a finished (or switched) cutover that no rollback has
 * reverted, else `source`.
 */
export async function cutOverTo(client: pg.ClientBase): Promise<{ cutOver: boolean; record: CutoverRow | undefined }> {
  const last = await latestRecord(client);
  if (!last) return { cutOver: false, record: undefined };
  if (last.direction === 'cutover')
    return { cutOver: last.status === 'done' || (last.status === 'running' && last.switchedAt !== null), record: last };
  // a rollback that did not finish leaves the application where its env file says; treat as still cut over
  return { cutOver: last.status !== 'done', record: last };
}

export async function recordById(client: pg.ClientBase, id: string): Promise<CutoverRow | undefined> {
  const row = await stateDb(client).selectFrom('pgshift.cutover').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRow(row) : undefined;
}

/** A cutover's env backup as the state records it (the file holds the variable's value before that cutover). */
export interface RecordedBackup {
  readonly cutoverId: string;
  readonly status: CutoverRow['status'];
  readonly envFile: string | null;
  readonly variable: string | null;
  readonly backupFile: string;
  readonly startedAt: Date;
}

/** Every cutover that wrote an env backup, oldest first. */
export async function recordedBackups(client: pg.ClientBase): Promise<RecordedBackup[]> {
  if (!(await hasCutoverTable(client))) return [];
  const rows = await stateDb(client)
    .selectFrom('pgshift.cutover')
    .select(['id', 'status', 'env_file', 'variable', 'backup_file', 'started_at'])
    .where('direction', '=', 'cutover')
    .where('backup_file', 'is not', null)
    .orderBy('started_at', 'asc')
    .orderBy('id', 'asc')
    .execute();
  return rows.map((r) => ({
    cutoverId: r.id,
    status: r.status,
    envFile: r.env_file,
    variable: r.variable,
    backupFile: r.backup_file as string,
    startedAt: r.started_at,
  }));
}
