/**
 * Whether the source allows a change stream: wal_level = logical, a role with REPLICATION (or superuser), a free
 * replication slot and a free WAL sender, PostgreSQL 14+ (logical decoding messages mark the cutover). Each reason
 * names the setting and its fix. The reasons are a pure function of the facts (unit-tested without a server).
 */
import type pg from 'pg';
import { tablesLackingIdentity, type TableRef } from './identity.js';

export interface ReadinessFacts {
  readonly serverVersionNum: number;
  readonly walLevel: string;
  readonly role: string;
  /** rolreplication, rolsuper, or a member of rds_replication (Amazon RDS) */
  readonly canReplicate: boolean;
  readonly maxReplicationSlots: number;
  readonly slotsUsed: number;
  readonly maxWalSenders: number;
  readonly walSendersUsed: number;
  /** pgshift's slot exists already: it needs no free slot */
  readonly ownSlotExists: boolean;
  /** In-scope tables the role does not own (CREATE PUBLICATION ... FOR TABLE needs ownership), `schema.name`. */
  readonly notOwned?: readonly string[];
}

export interface StreamReadiness {
  readonly ok: boolean;
  readonly reasons: string[];
  readonly facts: ReadinessFacts;
  readonly tablesNeedingIdentity: Array<{ schema: string; name: string; identity: 'd' | 'n'; statement: string }>;
  /** Tables a publication cannot hold (unlogged: their changes are not in the WAL). */
  readonly unpublishable: Array<{ schema: string; name: string; reason: string }>;
}

/** Unlogged (and temporary) tables among `tables`: no publication can hold them, their changes never reach the WAL. */
export async function unpublishableTables(
  source: pg.ClientBase,
  tables: readonly TableRef[],
): Promise<Array<{ schema: string; name: string; reason: string }>> {
  if (tables.length === 0) return [];
  const r = await source.query<{ schema: string; name: string; persistence: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relpersistence AS persistence
       FROM unnest($1::text[], $2::text[]) AS t(s, n)
       JOIN pg_catalog.pg_namespace n ON n.nspname = t.s
       JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.n
      WHERE c.relpersistence <> 'p'
      ORDER BY 1, 2`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return r.rows.map((t) => ({
    schema: t.schema,
    name: t.name,
    reason: t.persistence === 'u' ? 'unlogged' : 'temporary',
  }));
}

export function readinessReasons(f: ReadinessFacts): string[] {
  const reasons: string[] = [];
  if (f.walLevel !== 'logical')
    reasons.push(
      `wal_level is ${f.walLevel}, logical is needed: ALTER SYSTEM SET wal_level = logical (or the provider's ` +
        `setting, e.g. rds.logical_replication = 1) and restart the source server`,
    );
  if (!f.canReplicate)
    reasons.push(
      `role ${f.role} may not replicate: ALTER ROLE ${f.role} REPLICATION (as a superuser; on RDS: GRANT rds_replication TO ${f.role})`,
    );
  if (!f.ownSlotExists && f.slotsUsed >= f.maxReplicationSlots)
    reasons.push(
      `no free replication slot: max_replication_slots = ${f.maxReplicationSlots} and ${f.slotsUsed} in use: drop an ` +
        `unused slot (pg_drop_replication_slot) or raise max_replication_slots (needs a restart)`,
    );
  if (f.walSendersUsed >= f.maxWalSenders)
    reasons.push(
      `no free WAL sender: max_wal_senders = ${f.maxWalSenders} and ${f.walSendersUsed} in use: raise ` +
        `max_wal_senders (needs a restart)`,
    );
  if (f.notOwned && f.notOwned.length > 0) {
    const few = f.notOwned.slice(0, 5).join(', ') + (f.notOwned.length > 5 ? ` and ${f.notOwned.length - 5} more` : '');
    reasons.push(
      `role ${f.role} does not own ${f.notOwned.length} table(s) in scope (${few}): CREATE PUBLICATION needs ownership: ` +
        `connect to the source as the tables' owner (or a superuser)`,
    );
  }
  if (f.serverVersionNum < 140000)
    reasons.push(
      `PostgreSQL ${Math.floor(f.serverVersionNum / 10000)} on the source: the stream's cutover fence needs ` +
        `logical decoding messages (PostgreSQL 14 or later): upgrade the source or use cutover.strategy: freeze`,
    );
  return reasons;
}

export async function readinessFacts(source: pg.ClientBase, slot?: string): Promise<ReadinessFacts> {
  const r = await source.query<Omit<ReadinessFacts, 'ownSlotExists'> & { ownSlotExists: boolean }>(
    `SELECT current_setting('server_version_num')::int AS "serverVersionNum",
            current_setting('wal_level') AS "walLevel", current_user::text AS role,
            (r.rolreplication OR r.rolsuper
              OR (to_regrole('rds_replication') IS NOT NULL
                  AND pg_catalog.pg_has_role(current_user, 'rds_replication', 'MEMBER'))) AS "canReplicate",
            current_setting('max_replication_slots')::int AS "maxReplicationSlots",
            (SELECT count(*) FROM pg_catalog.pg_replication_slots)::int AS "slotsUsed",
            current_setting('max_wal_senders')::int AS "maxWalSenders",
            (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'walsender')::int AS "walSendersUsed",
            EXISTS (SELECT FROM pg_catalog.pg_replication_slots WHERE slot_name = $1) AS "ownSlotExists"
       FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
    [slot ?? null],
  );
  const row = r.rows[0];
  if (!row) throw new Error('readiness query returned no row');
  return row;
}

/**
 * Can the source stream? `tables` (in scope) adds the tables whose updates and deletes would not stream (no usable
 * replica identity) with the statement that fixes each; `slot` (pgshift's) counts as a slot that needs no free one.
 */
export async function streamReadiness(
  source: pg.ClientBase,
  opts: { readonly tables?: readonly TableRef[]; readonly slot?: string } = {},
): Promise<StreamReadiness> {
  const facts = { ...(await readinessFacts(source, opts.slot)), notOwned: await notOwned(source, opts.tables ?? []) };
  const reasons = readinessReasons(facts);
  const gaps = await tablesLackingIdentity(source, opts.tables ?? []);
  const unpublishable = await unpublishableTables(source, opts.tables ?? []);
  return {
    ok: reasons.length === 0,
    reasons,
    facts,
    tablesNeedingIdentity: gaps.map((g) => ({
      schema: g.schema,
      name: g.name,
      identity: g.identity,
      statement: g.statement,
    })),
    unpublishable,
  };
}

/** Tables among `tables` the connecting role does not own (a superuser owns everything, for this purpose). */
async function notOwned(source: pg.ClientBase, tables: readonly TableRef[]): Promise<string[]> {
  if (tables.length === 0) return [];
  const r = await source.query<{ t: string }>(
    `SELECT n.nspname || '.' || c.relname AS t
       FROM unnest($1::text[], $2::text[]) AS x(s, n)
       JOIN pg_catalog.pg_namespace n ON n.nspname = x.s
       JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = x.n
      WHERE NOT pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE')
        AND NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
      ORDER BY 1`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return r.rows.map((x) => x.t);
}
