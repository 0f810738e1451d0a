/**
 * `pgshift apply --follow`: after the copy, keep the change stream going (source slot -> target) until stopped or
 * until a cutover asks for the lock. One process; the lock says who streams; the state says where it stands.
 */
import type pg from 'pg';
import type { Config } from '../config/types.js';
import { connectClient } from '../db/connect.js';
import { endpoints, sessionSettings } from '../db/endpoints.js';
import { assertSessionPooling } from '../db/pooler.js';
import { PgshiftError } from '../errors/index.js';
import { logger } from '../log/logger.js';
import { migratedSet } from './context.js';
import { follow, type FollowProgress, type FollowResult, type FollowTable } from '../stream/follow.js';
import { stateDb } from '../state/db.js';
import { acquireLock } from '../state/lock.js';
import { FOLLOW_COMMAND, listenForHandover } from '../state/handover.js';
import { migrateState } from '../state/migrations.js';
import { currentOperator, newRunId } from '../state/runs.js';
import { readStreams, type StreamRow } from '../state/stream.js';
import type { MigratedSet } from './context.js';

export interface FollowRunOptions {
  readonly signal?: AbortSignal;
  /** Stop once the stream has applied everything the source had written when this run began. */
  readonly untilCaughtUp?: boolean;
  onProgress?(p: FollowProgress): void;
}

export interface FollowRunResult extends FollowResult {
  readonly slot: string;
  /** Who asked for the lock (a cutover's run), when the follower stopped for it. */
  readonly handedOverTo: string | null;
}

/** The stream's tables: every migrated table, as each side names it, with the target's key. */
export function followTables(set: MigratedSet): FollowTable[] {
  return set.pairs.map((p) => ({
    source: { schema: p.source.schema, name: p.source.name },
    target: { schema: p.target.schema, name: p.target.name },
    // the key override, else the table's own key (primary, or a unique NOT NULL one), as the target names it
    key: keyOf(p.key ?? p.target.key ?? p.source.key),
  }));
}

function keyOf(key: readonly string[] | null | undefined): string[] | null {
  return key && key.length > 0 ? [...key] : null;
}

/** The publications a stream row names. */
export function publicationsOf(row: StreamRow): string[] {
  return [row.publication, ...(row.insertsPublication ? [row.insertsPublication] : [])];
}

/** The one stream pgshift made for this target, or a clear error that says how to make it. */
export function theStream(rows: readonly StreamRow[]): StreamRow {
  const row = rows.at(-1);
  if (!row) {
    throw new PgshiftError('STREAM_STATE_MISSING', 'there is no change stream for this target', {
      hint: 'With cutover.strategy stream (the default when the source allows it), `pgshift apply` creates the publication and the replication slot before it copies: run `pgshift plan` to see why it did not.',
    });
  }
  return row;
}

/**
 * Streams until `untilLsn` is applied on the target (or `signal`): for a cutover, which already holds the lock and
 * has its sessions (`control` on the target, `source`).
 */
export async function followTo(
  config: Config,
  s: { readonly control: pg.ClientBase; readonly source: pg.ClientBase },
  untilLsn: string,
  o: { readonly signal?: AbortSignal; readonly lockId?: string } = {},
): Promise<FollowResult> {
  const eps = endpoints(config);
  const stream = theStream(await readStreams(s.control));
  const set = await migratedSet(config, s.source);
  return follow({
    source: eps.source,
    target: eps.target,
    settings: sessionSettings(config),
    slot: stream.slot,
    publications: publicationsOf(stream),
    tables: followTables(set),
    untilLsn,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.lockId ? { lockId: o.lockId } : {}),
  });
}

/** The source's current WAL position. */
export async function currentLsn(source: pg.ClientBase): Promise<string> {
  const r = await source.query<{ l: string }>('SELECT pg_catalog.pg_current_wal_lsn()::text AS l');
  return r.rows[0]?.l ?? '0/0';
}

export async function runFollow(config: Config, o: FollowRunOptions = {}): Promise<FollowRunResult> {
  const eps = endpoints(config);
  const session = sessionSettings(config);
  await assertSessionPooling([eps.source, eps.target], session);
  const control = await connectClient(eps.target, session);
  const source = await connectClient(eps.source, session);
  const stop = new AbortController();
  const onOuter = (): void => stop.abort();
  o.signal?.addEventListener('abort', onOuter, { once: true });
  if (o.signal?.aborted) stop.abort();
  let handedOverTo: string | null = null;
  try {
    await migrateState(stateDb(control));
    const stream = theStream(await readStreams(control));
    const lock = await acquireLock(control, { runId: newRunId(), command: FOLLOW_COMMAND, ...currentOperator() });
    const off = await listenForHandover(control, (by) => {
      handedOverTo = by;
      logger().info({ by }, 'a cutover asked for the lock: stopping the stream after the running transaction');
      stop.abort();
    });
    try {
      const set = await migratedSet(config, source);
      const untilLsn = o.untilCaughtUp ? await currentLsn(source) : undefined;
      const result = await follow({
        source: eps.source,
        target: eps.target,
        settings: session,
        slot: stream.slot,
        publications: publicationsOf(stream),
        tables: followTables(set),
        lockId: lock.lockId,
        signal: stop.signal,
        ...(untilLsn ? { untilLsn } : {}),
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      });
      return { ...result, slot: stream.slot, handedOverTo };
    } finally {
      off();
      await lock.release().catch(() => undefined);
    }
  } finally {
    o.signal?.removeEventListener('abort', onOuter);
    await Promise.all([control.end().catch(() => undefined), source.end().catch(() => undefined)]);
  }
}
