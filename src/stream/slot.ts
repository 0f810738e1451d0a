/**
 * The change stream's objects on the source: a logical replication slot (pgoutput) and its publications. Created
 * before the first row is copied (every copy snapshot is then taken after the slot's consistent point), inspected by
 * plan, status and doctor, dropped by destroy. An abandoned slot holds WAL until the source's disk is full.
 */
import type pg from 'pg';
import { PgshiftError } from '../errors/index.js';
import { boundedSlotCreation } from './blockers.js';
import type { StreamNames } from './names.js';
import { createPublication, dropPublications, type PublishedTable } from './publication.js';

export { streamNames, type StreamNames } from './names.js';
export { setPublishedTables, type PublishedTable } from './publication.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface SlotRow {
  readonly active: boolean;
  readonly active_pid: number | null;
  readonly application_name: string | null;
  readonly usename: string | null;
}

async function readSlot(source: pg.ClientBase, slot: string): Promise<SlotRow | undefined> {
  const r = await source.query<SlotRow>(
    `SELECT s.active, s.active_pid, a.application_name, a.usename::text AS usename
       FROM pg_catalog.pg_replication_slots s LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = s.active_pid
      WHERE s.slot_name = $1`,
    [slot],
  );
  return r.rows[0];
}

/** pgshift's own sessions (walsender or SQL) say so in their application_name. */
function ownSession(s: SlotRow): boolean {
  return (s.application_name ?? '').startsWith('pgshift');
}

function activeError(slot: string, s: SlotRow, doing: string): PgshiftError {
  return new PgshiftError(
    'STREAM_SLOT_ACTIVE',
    `replication slot ${slot} is in use on the source by pid ${s.active_pid ?? '?'} (user ${s.usename ?? '?'}, ` +
      `application ${s.application_name ? JSON.stringify(s.application_name) : '(none)'}): cannot ${doing} it`,
    { hint: 'Stop the process that reads the slot (or end it with SELECT pg_terminate_backend(pid)), then retry.' },
  );
}

/** Drops an inactive slot; an active one only after ending its reader, and only when the reader is pgshift's own. */
async function dropSlot(source: pg.ClientBase, slot: string, doing: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const s = await readSlot(source, slot);
    if (!s) return false;
    if (!s.active) {
      try {
        await source.query('SELECT pg_catalog.pg_drop_replication_slot($1)', [slot]);
        return true;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === '42704') return false; // dropped meanwhile
        if (code !== '55006' || attempt >= 50) throw err; // 55006: became active again
        continue;
      }
    }
    if (!ownSession(s)) throw activeError(slot, s, doing);
    if (attempt >= 50) throw activeError(slot, s, doing);
    if (attempt === 0) await source.query('SELECT pg_catalog.pg_terminate_backend($1)', [s.active_pid]);
    await sleep(100);
  }
}

/**
 * CREATE PUBLICATION(s) (FOR TABLE ..., publish_via_partition_root = true; the inserts-only one with publish =
 * 'insert, truncate' only when some table needs it), then pg_create_logical_replication_slot(slot, 'pgoutput'),
 * waiting at most `waitMs` for the transactions running on the source (STREAM_SLOT_BLOCKED names them). Idempotent:
 * existing inactive objects of these names are dropped and re-created (the caller checked that the state does not
 * know them); a slot in use refuses with STREAM_SLOT_ACTIVE.
 */
export async function createStream(
  source: pg.Client,
  names: StreamNames,
  tables: readonly PublishedTable[],
  opts: { readonly waitMs: number },
): Promise<{ readonly consistentLsn: string }> {
  const existing = await readSlot(source, names.slot);
  if (existing?.active) throw activeError(names.slot, existing, 're-create');
  if (existing) await dropSlot(source, names.slot, 're-create');
  const inserts = tables.filter((t) => t.mode === 'inserts');
  // no enclosing transaction: each table is locked on its own (src/stream/publication.ts says why); a crash leaves
  // partial publications that the next call drops and re-creates
  await dropPublications(source, names);
  await createPublication(
    source,
    names.publication,
    'all',
    tables.filter((t) => t.mode === 'all'),
  );
  if (inserts.length > 0) await createPublication(source, names.insertsPublication, 'inserts', inserts);
  const r = await boundedSlotCreation(source, names.slot, opts.waitMs, () =>
    source.query<{ lsn: string }>(
      `SELECT lsn::text AS lsn FROM pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput')`,
      [names.slot],
    ),
  );
  return { consistentLsn: (r.rows[0] as { lsn: string }).lsn };
}

/**
 * Drops the slot (if active: its reader is ended first only when it is pgshift's own; else STREAM_SLOT_ACTIVE naming
 * the pid) and the publications; absent objects are fine.
 */
export async function dropStream(
  source: pg.ClientBase,
  names: StreamNames,
): Promise<{ readonly slot: boolean; readonly publications: readonly string[] }> {
  const slot = await dropSlot(source, names.slot, 'drop');
  const publications = await dropPublications(source, names);
  return { slot, publications };
}

export { slotStatus, type SlotStatus } from './slot-status.js';
