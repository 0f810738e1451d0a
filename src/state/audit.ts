import { createHash } from 'node:crypto';
import type pg from 'pg';
import { canonicalJson } from './hash.js';
import type { Operator } from './runs.js';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly command: string;
  readonly operator: string;
  readonly host: string;
  readonly runId: string | null;
  readonly planHash: string | null;
  readonly startedAt: string | null;
  readonly outcome: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly prevHash: string;
  readonly hash: string;
}

/** The hash of an entry: sha256 over the previous entry's hash and the entry's own fields (canonical JSON). */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const { prevHash, ...fields } = e;
  return createHash('sha256').update(prevHash).update('\n').update(canonicalJson(fields)).digest('hex');
}

export interface AuditRecord extends Operator {
  readonly command: string;
  readonly runId?: string;
  readonly planHash?: string;
  readonly startedAt?: Date;
  readonly outcome: string;
  readonly counts?: Readonly<Record<string, number>>;
}

/**
 * Appends one entry (its own transaction; the table is locked so entries chain in order). Holds no secret and no
 * patient value: who, where, when, which plan, the outcome and counts.
 */
export async function appendAudit(client: pg.ClientBase, r: AuditRecord): Promise<AuditEntry> {
  await client.query('BEGIN');
  try {
    await client.query('LOCK TABLE pgshift.audit_log IN EXCLUSIVE MODE');
    // ORDER BY the column, not the text alias (which would put 9 after 10)
    const last = await client.query<{ seq: string; hash: string }>(
      'SELECT a.seq::text AS seq, a.hash FROM pgshift.audit_log a ORDER BY a.seq DESC LIMIT 1',
    );
    const now =
      (await client.query<{ now: Date }>("SELECT date_trunc('milliseconds', clock_timestamp()) AS now")).rows[0]?.now ??
      new Date();
    const base: Omit<AuditEntry, 'hash'> = {
      seq: last.rows[0] ? Number(last.rows[0].seq) + 1 : 1,
      at: now.toISOString(),
      command: r.command,
      operator: r.operator,
      host: r.host,
      runId: r.runId ?? null,
      planHash: r.planHash ?? null,
      startedAt: r.startedAt ? r.startedAt.toISOString() : null,
      outcome: r.outcome,
      counts: r.counts ?? {},
      prevHash: last.rows[0]?.hash ?? GENESIS_HASH,
    };
    const entry: AuditEntry = { ...base, hash: entryHash(base) };
    await client.query(
      `INSERT INTO pgshift.audit_log (seq, at, command, operator, host, run_id, plan_hash, started_at, outcome, counts, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        entry.seq,
        entry.at,
        entry.command,
        entry.operator,
        entry.host,
        entry.runId,
        entry.planHash,
        entry.startedAt,
        entry.outcome,
        JSON.stringify(entry.counts),
        entry.prevHash,
        entry.hash,
      ],
    );
    await client.query('COMMIT');
    return entry;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export interface AuditCheck {
  readonly entries: number;
  readonly ok: boolean;
  /** The first entry whose hash or link does not hold, and why. */
  readonly brokenAt?: { readonly seq: number; readonly reason: string };
}

export async function readAudit(client: pg.ClientBase): Promise<AuditEntry[]> {
  const has = await client.query<{ ok: boolean }>(`SELECT to_regclass('pgshift.audit_log') IS NOT NULL AS ok`);
  if (has.rows[0]?.ok !== true) return [];
  const r = await client.query<{
    seq: string;
    at: Date;
    command: string;
    operator: string;
    host: string;
    run_id: string | null;
    plan_hash: string | null;
    started_at: Date | null;
    outcome: string;
    counts: Record<string, number>;
    prev_hash: string;
    hash: string;
  }>('SELECT * FROM pgshift.audit_log ORDER BY seq');
  return r.rows.map((x) => ({
    seq: Number(x.seq),
    at: x.at.toISOString(),
    command: x.command,
    operator: x.operator,
    host: x.host,
    runId: x.run_id,
    planHash: x.plan_hash,
    startedAt: x.started_at ? x.started_at.toISOString() : null,
    outcome: x.outcome,
    counts: x.counts,
    prevHash: x.prev_hash,
    hash: x.hash,
  }));
}

/** Recomputes the chain: every entry's hash from its fields, every link to the previous hash, no gap in seq. */
export function checkChain(entries: readonly AuditEntry[]): AuditCheck {
  let prev = GENESIS_HASH;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as AuditEntry;
    if (e.seq !== i + 1)
      return {
        entries: entries.length,
        ok: false,
        brokenAt: { seq: e.seq, reason: `expected entry ${i + 1} here: an entry was removed` },
      };
    if (e.prevHash !== prev)
      return {
        entries: entries.length,
        ok: false,
        brokenAt: { seq: e.seq, reason: 'its link to the previous entry does not match' },
      };
    const { hash, ...rest } = e;
    if (entryHash(rest) !== hash)
      return {
        entries: entries.length,
        ok: false,
        brokenAt: { seq: e.seq, reason: 'its content does not match its hash (edited)' },
      };
    prev = hash;
  }
  return { entries: entries.length, ok: true };
}
