/**
 * The follow loop: reads the slot and applies whole source transactions to the target, exactly once. Each target
 * transaction locks the applied position (FOR UPDATE), applies a group of whole source transactions, stores the END
 * LSN of the last one with them, commits, and only then confirms that LSN to the slot. A (re)start skips every
 * transaction at or below the stored position, whatever the slot resends.
 */
import type pg from 'pg';
import { connectClient, type SessionSettings } from '../db/connect.js';
import type { ResolvedEndpoint } from '../db/endpoint.js';
import { qualified, quoteIdent } from '../db/ident.js';
import { PgshiftError, isPgshiftError } from '../errors/index.js';
import { copySnapshots, markStream, readStreams } from '../state/stream.js';
import { Applier, type ApplierTable } from './applier.js';
import { FollowLoop } from './follow-loop.js';
import { formatLsn, parseLsn } from './pgoutput.js';
import { ReplicationSession } from './replication.js';
import { parseSnapshot } from './visibility.js';

export interface FollowTable {
  readonly source: { readonly schema: string; readonly name: string };
  readonly target: { readonly schema: string; readonly name: string };
  /** key columns as the target spells them (same names on the source unless mapped); null: keyless */
  readonly key: readonly string[] | null;
}

export interface FollowOptions {
  readonly source: ResolvedEndpoint;
  readonly target: ResolvedEndpoint;
  readonly settings: SessionSettings;
  readonly slot: string;
  readonly publications: readonly string[];
  readonly tables: readonly FollowTable[];
  /** stop once a source transaction ending at or past this LSN is committed on the target (cutover fence) */
  readonly untilLsn?: string;
  /** or stop when aborted (SIGINT): finish or roll back the open target transaction, then return */
  readonly signal?: AbortSignal;
  /** called after every target commit */
  onProgress?(p: FollowProgress): void;
  /** the apply/cutover lock id: every target transaction checks the lock fence (assertLockHeld, src/state/lock.ts) */
  readonly lockId?: string;
  /** group source transactions into one target transaction up to this many changes / this many ms */
  readonly maxBatchChanges?: number;
  readonly maxBatchMs?: number;
  /** frames the replication session buffers before it stops reading the socket (default 256) */
  readonly highWaterMark?: number;
}

export interface FollowProgress {
  appliedLsn: string;
  sourceCommitAt: Date | null;
  transactions: number;
  changes: number;
  receivedLsn: string;
}

export interface FollowResult {
  appliedLsn: string | null;
  transactions: number;
  changes: number;
  stoppedBy: 'until' | 'signal';
  warnings: string[];
}

/** Turns on session_replication_role = replica (user triggers and FK triggers stay quiet) when the role may. */
async function quietTriggers(target: pg.ClientBase, warnings: string[]): Promise<void> {
  try {
    await target.query('SET session_replication_role = replica');
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err;
    warnings.push(
      "the target role may not set session_replication_role: the target's user triggers fire again for streamed rows",
    );
  }
}

async function applierTables(target: pg.ClientBase, tables: readonly FollowTable[]): Promise<ApplierTable[]> {
  const snaps = await copySnapshots(target);
  return tables.map((t) => {
    const text =
      snaps.get(`copy ${t.target.schema}.${t.target.name}`) ?? snaps.get(`copy ${t.source.schema}.${t.source.name}`);
    return { ...t, snapshot: t.key === null && text ? parseSnapshot(text) : null };
  });
}

/** The source's row now by key, its columns as text; undefined when gone. */
async function readSourceRow(
  client: Promise<pg.Client>,
  table: { readonly schema: string; readonly name: string },
  columns: readonly string[],
  key: readonly { readonly column: string; readonly value: string | null }[],
): Promise<(string | null)[] | undefined> {
  const c = await client;
  const where = key.map((k, i) => `${quoteIdent(k.column)} = $${i + 1}`).join(' AND ');
  const r = await c.query<Record<string, string | null>>(
    `SELECT ${columns.map((col, i) => `${quoteIdent(col)}::text AS ${quoteIdent(`c${i}`)}`).join(', ')} FROM ${qualified(table.schema, table.name)} WHERE ${where}`,
    key.map((k) => k.value),
  );
  const row = r.rows[0];
  return row ? columns.map((_, i) => row[`c${i}`] ?? null) : undefined;
}

export async function follow(opts: FollowOptions): Promise<FollowResult> {
  const warnings: string[] = [];
  const target = await connectClient(opts.target, opts.settings);
  let session: ReplicationSession | undefined;
  // a plain session on the source, opened only when the applier must re-read a row (see Applier.repairing)
  let sourceSql: Promise<pg.Client> | undefined;
  try {
    await quietTriggers(target, warnings);
    const row = (await readStreams(target)).find((s) => s.slot === opts.slot);
    if (!row) {
      throw new PgshiftError('STREAM_STATE_MISSING', `the target's state has no stream for slot ${opts.slot}`, {
        hint: 'Run `pgshift apply`: it creates the slot and records it before the first row is copied.',
      });
    }
    const applier = new Applier(target, await applierTables(target, opts.tables), (table, columns, key) => {
      sourceSql ??= connectClient(opts.source, opts.settings);
      return readSourceRow(sourceSql, table, columns, key);
    });
    const start = row.appliedLsn ? parseLsn(row.appliedLsn) : 0n;
    session = await ReplicationSession.start({
      source: opts.source,
      settings: opts.settings,
      slot: opts.slot,
      publications: opts.publications,
      startLsn: start,
      ...(opts.highWaterMark ? { highWaterMark: opts.highWaterMark } : {}),
    });
    const loop = new FollowLoop(opts, target, session, applier, start);
    const stoppedBy = await loop.run().finally(() => {
      for (const [table, n] of applier.repaired)
        warnings.push(
          `${n} row(s) of ${table} copied at a later snapshot held a unique value that a replayed change needed: they were removed and the stream writes them again`,
        );
    });
    await markStream(target, opts.slot, 'stopped');
    return {
      appliedLsn: loop.applied > 0n ? formatLsn(loop.applied) : null,
      transactions: loop.transactions,
      changes: loop.changes,
      stoppedBy,
      warnings,
    };
  } catch (err) {
    const message = isPgshiftError(err) ? err.message : 'the stream stopped on an unexpected error';
    await markStream(target, opts.slot, 'failed', message).catch(() => undefined);
    throw err;
  } finally {
    await session?.close();
    await target.end().catch(() => undefined);
    if (sourceSql) await (await sourceSql.catch(() => undefined))?.end().catch(() => undefined);
  }
}

export { DEFAULT_MAX_BATCH_CHANGES, DEFAULT_MAX_BATCH_MS } from './follow-loop.js';
