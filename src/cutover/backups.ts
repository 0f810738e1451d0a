/**
 * The env backups a cutover leaves (`<env file>.pgshift-<id>.bak`, 0600): each holds the variable's value before
 * that cutover, a URL with its password as a rule. Only one can ever be used: a rollback reverts the latest cutover
 * and restores from its backup. So pgshift keeps that one while the cutover stands (running or done, within the
 * rollback window or past it: `rollback --force` still uses it), and removes the others when it knows they are of
 * no use: a finished rollback removes the backup it restored from, a new cutover's switch removes the backups of the
 * cutovers before it, and destroy removes what is left. Status names every one.
 *
 * Only files the state records are removed, and only when the path is the one pgshift itself derives from the
 * record's env file and id: a state row can never make pgshift delete another file. Files that match the naming
 * but that this state does not record (a state destroyed before, another migration) are named, never removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { recordedBackups, type RecordedBackup } from '../state/cutover.js';
import { backupPath } from './env-file.js';

export interface EnvBackup {
  readonly file: string;
  /** The cutover that wrote it; null: a file named like pgshift's backups that this state does not record. */
  readonly cutoverId: string | null;
  readonly variable: string | null;
  readonly exists: boolean;
  /** The backup a rollback restores from (that of the cutover that stands). */
  readonly usable: boolean;
}

/** The latest cutover's backup, while that cutover stands (a rollback would revert it and restore from it). */
function usableOf(recorded: readonly RecordedBackup[]): RecordedBackup | undefined {
  const last = recorded.at(-1);
  return last && (last.status === 'running' || last.status === 'done') ? last : undefined;
}

/** Whether the recorded path is the one pgshift derives for that cutover: the only files pgshift removes. */
function ours(b: RecordedBackup): boolean {
  return b.envFile !== null && backupPath(b.envFile, b.cutoverId) === b.backupFile;
}

/**
 * The backups of this migration: those the state records (still on disk, or the usable one even when missing: a
 * rollback would need it) and the files next to the configured env file that look like pgshift's backups.
 */
export async function envBackups(client: pg.ClientBase, envFile: string | undefined): Promise<EnvBackup[]> {
  const recorded = await recordedBackups(client);
  const usable = usableOf(recorded);
  const out: EnvBackup[] = [];
  for (const b of recorded) {
    const exists = fs.existsSync(b.backupFile);
    if (!exists && b !== usable) continue; // removed, as it should be
    out.push({ file: b.backupFile, cutoverId: b.cutoverId, variable: b.variable, exists, usable: b === usable });
  }
  const seen = new Set(out.map((b) => b.file));
  for (const file of strayFiles(envFile))
    if (!seen.has(file)) out.push({ file, cutoverId: null, variable: null, exists: true, usable: false });
  return out;
}

/** Files next to the env file named like pgshift's backups of it. */
function strayFiles(envFile: string | undefined): string[] {
  if (!envFile) return [];
  const dir = path.dirname(envFile);
  const prefix = `${path.basename(envFile)}.pgshift-`;
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(prefix) && f.endsWith('.bak'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/**
 * The recorded backups no rollback can use, still on disk: every one but `keep`'s (a cutover's id), or, without
 * `keep`, every one but the backup of the cutover that stands.
 */
export async function unusableBackups(client: pg.ClientBase, o: { keep?: string } = {}): Promise<string[]> {
  const recorded = await recordedBackups(client);
  const keep = o.keep ?? usableOf(recorded)?.cutoverId;
  return recorded
    .filter((b) => b.cutoverId !== keep && ours(b) && fs.existsSync(b.backupFile))
    .map((b) => b.backupFile);
}

/** Removes those backups (see `unusableBackups`); returns the files removed. */
export async function removeUnusableBackups(client: pg.ClientBase, o: { keep?: string } = {}): Promise<string[]> {
  const files = await unusableBackups(client, o);
  for (const f of files) fs.rmSync(f, { force: true });
  return files;
}

/** The one backup of a cutover, once a finished rollback restored from it. */
export function removeBackupOf(cutover: { id: string; envFile: string | null; backupFile: string | null }): boolean {
  const b = cutover.backupFile;
  if (!b || !cutover.envFile || backupPath(cutover.envFile, cutover.id) !== b || !fs.existsSync(b)) return false;
  fs.rmSync(b, { force: true });
  return true;
}
