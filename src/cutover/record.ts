import type pg from 'pg';
import { scrub } from '../log/redact.js';

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

interface Raw {
  id: string; direction: 'cutover' | 'rollback'; cutover_id: string | null; run_id: string; status: CutoverRow['status']; step: string;
  operator: string; host: string; started_at: Date; frozen_at: Date | null; switched_at: Date | null; finished_at: Date | null;
  freeze_ms: number | null; max_freeze_ms: number; env_file: string | null; variable: string | null; backup_file: string | null;
  old_value_sha256: string | null; new_value_redacted: string | null; steps: StepRecord[]; counts: Record<string, number>; error: string | null;
}

function toRow(r: Raw): CutoverRow {
  return {
    id: r.id, direction: r.direction, cutoverId: r.cutover_id, runId: r.run_id, status: r.status, step: r.step, operator: r.operator, host: r.host,
    startedAt: r.started_at, frozenAt: r.frozen_at, switchedAt: r.switched_at, finishedAt: r.finished_at, freezeMs: r.freeze_ms,
    maxFreezeMs: r.max_freeze_ms, envFile: r.env_file, variable: r.variable, backupFile: r.backup_file, oldValueSha256: r.old_value_sha256,
    newValueRedacted: r.new_value_redacted, steps: r.steps, counts: r.counts, error: r.error,
  };
}

export async function hasCutoverTable(client: pg.ClientBase): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>("SELECT to_regclass('pgshift.cutover') IS NOT NULL AS ok");
  return r.rows[0]?.ok === true;
}

/** The most recent cutover or rollback (by start), or undefined. */
export async function latestRecord(client: pg.ClientBase, direction?: 'cutover' | 'rollback'): Promise<CutoverRow | undefined> {
  if (!(await hasCutoverTable(client))) return undefined;
  const r = await client.query<Raw>(
    `SELECT * FROM pgshift.cutover WHERE ($1::text IS NULL OR direction = $1) ORDER BY started_at DESC, id DESC LIMIT 1`,
    [direction ?? null],
  );
  return r.rows[0] ? toRow(r.rows[0]) : undefined;
}

export async function insertRecord(
  client: pg.ClientBase,
  r: Pick<CutoverRow, 'id' | 'direction' | 'cutoverId' | 'runId' | 'operator' | 'host' | 'maxFreezeMs' | 'envFile' | 'variable' | 'newValueRedacted'>,
): Promise<void> {
  await client.query(
    `INSERT INTO pgshift.cutover (id, direction, cutover_id, run_id, status, step, operator, host, max_freeze_ms, env_file, variable, new_value_redacted)
     VALUES ($1, $2, $3, $4, 'running', 'started', $5, $6, $7, $8, $9, $10)`,
    [r.id, r.direction, r.cutoverId, r.runId, r.operator, r.host, r.maxFreezeMs, r.envFile, r.variable, r.newValueRedacted],
  );
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

/** Updates the row (one statement: the step and its record commit together). */
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
      id, p.status ?? null, p.step ?? null, p.frozenAt === 'now' ? 'now' : p.frozenAt === null ? 'clear' : null, p.switchedAt === 'now',
      p.finished === true, p.freezeMs ?? null, p.backupFile ?? null, p.oldValueSha256 ?? null, p.counts ? JSON.stringify(p.counts) : null,
      p.error !== undefined, p.error == null ? null : scrub(p.error), p.done ? JSON.stringify({ ...p.done, detail: scrub(p.done.detail) }) : null,
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
  if (last.direction === 'cutover') return { cutOver: last.status === 'done' || (last.status === 'running' && last.switchedAt !== null), record: last };
  // a rollback that did not finish leaves the application where its env file says; treat as still cut over
  return { cutOver: last.status !== 'done', record: last };
}

export async function recordById(client: pg.ClientBase, id: string): Promise<CutoverRow | undefined> {
  const r = await client.query<Raw>('SELECT * FROM pgshift.cutover WHERE id = $1', [id]);
  return r.rows[0] ? toRow(r.rows[0]) : undefined;
}
