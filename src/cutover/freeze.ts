import type pg from 'pg';
import { qualified, quoteIdent, quoteLiteral } from '../db/ident.js';
import { PgshiftError } from '../errors/index.js';

/**
 * The write freeze: a statement-level trigger on every migrated table that refuses INSERT, UPDATE, DELETE and
 * TRUNCATE with SQLSTATE 25006 (read_only_sql_transaction, what an application sees from a read-only database).
 *
 * Why triggers and not `ALTER DATABASE ... SET default_transaction_read_only`: that setting reaches only NEW
 * sessions, so every pooled connection the application already holds could still write after the final sync
 * unless it is terminated (which fails its in-flight reads). The triggers take effect for every session at the
 * commit of one transaction; creating them waits for in-flight write transactions on those tables to finish
 * (SHARE ROW EXCLUSIVE conflicts with writers, not with readers), bounded by the drain timeout. Reads never stop.
 *
 * The freeze persists (it survives a crash of pgshift and the end of the cutover): the old database refuses stray
 * writes until a rollback lifts it. pgshift's own sync session passes by setting `pgshift.freeze_bypass` to the
 * freeze's id (the trigger's argument) in its transaction.
 */

export const FREEZE_TRIGGER = 'pgshift_write_freeze';
const FREEZE_FUNCTION = 'pgshift.write_freeze()';

export interface FreezeOptions {
  /** The cutover (or rollback) this freeze belongs to: the bypass value of pgshift's own sync. */
  readonly id: string;
  /** How long in-flight write transactions may take to finish. */
  readonly drainTimeoutMs: number;
  /** After the drain timeout: abort the freeze (nothing changed), or terminate the writers still in flight. */
  readonly onDrainTimeout: 'abort' | 'terminate';
}

export interface FreezeResult {
  readonly tables: number;
  /** From the first lock request to the commit that froze every table. */
  readonly drainMs: number;
  /** Sessions terminated by the `terminate` policy. */
  readonly terminated: number;
}

export interface Relation {
  readonly schema: string;
  readonly name: string;
}

/** The freeze function: raises 25006 unless the session set pgshift.freeze_bypass to this freeze's id. */
function functionSql(id: string): string {
  return `CREATE OR REPLACE FUNCTION pgshift.write_freeze() RETURNS trigger
  LANGUAGE plpgsql SET search_path = '' AS $pgshift$
BEGIN
  IF pg_catalog.current_setting('pgshift.freeze_bypass', true) = ${quoteLiteral(id)} THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'writes to %.% are frozen by pgshift for a cutover', TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = '25006', HINT = 'The application is being moved to another database: retry shortly, or read the pgshift runbook.';
END
$pgshift$`;
}

/** The lifted freeze: the same function, doing nothing (replacing it takes no lock on any table). */
const LIFTED_SQL = `CREATE OR REPLACE FUNCTION pgshift.write_freeze() RETURNS trigger
  LANGUAGE plpgsql SET search_path = '' AS $pgshift$
BEGIN
  RETURN NULL; -- lifted: pgshift drops these triggers when no transaction holds their table
END
$pgshift$`;

function lockTimeoutMs(ms: number): string {
  return `SET LOCAL lock_timeout = ${Math.max(1, Math.round(ms))}`;
}

async function tryFreeze(client: pg.ClientBase, tables: readonly Relation[], o: FreezeOptions): Promise<void> {
  await client.query('BEGIN');
  try {
    // lock_timeout bounds each lock; statement_timeout bounds the LOCK statement over all the tables
    await client.query(lockTimeoutMs(o.drainTimeoutMs));
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(o.drainTimeoutMs))}`);
    await client.query('CREATE SCHEMA IF NOT EXISTS pgshift');
    await client.query(functionSql(o.id));
    // one statement takes every lock (the writers drain, readers go on: SHARE ROW EXCLUSIVE blocks no reader)
    await client.query(`LOCK TABLE ${tables.map((t) => `ONLY ${qualified(t.schema, t.name)}`).join(', ')} IN SHARE ROW EXCLUSIVE MODE`);
    await client.query('SET LOCAL statement_timeout = 0');
    const existing = new Set((await triggerTables(client)).map((t) => qualified(t.schema, t.name)));
    for (const t of tables) {
      const q = qualified(t.schema, t.name);
      // a trigger left by a lifted freeze is active again with the function replaced above
      if (existing.has(q)) continue;
      await client.query(`CREATE TRIGGER ${quoteIdent(FREEZE_TRIGGER)} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${q} FOR EACH STATEMENT EXECUTE FUNCTION ${FUNCTION_SQL_NAME}()`);
      // ALWAYS: a session with session_replication_role = replica (a logical replication worker) is frozen too
      await client.query(`ALTER TABLE ${q} ENABLE ALWAYS TRIGGER ${quoteIdent(FREEZE_TRIGGER)}`);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

const FUNCTION_SQL_NAME = 'pgshift.write_freeze';

/** Sessions holding a write lock on one of the tables (other than this one). */
async function writersInFlight(client: pg.ClientBase, tables: readonly Relation[]): Promise<number[]> {
  const r = await client.query<{ pid: number }>(
    `SELECT DISTINCT l.pid FROM pg_catalog.pg_locks l
      WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_catalog.pg_backend_pid()
        AND l.mode IN ('RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
        AND l.relation = ANY (SELECT pg_catalog.to_regclass(x)::pg_catalog.oid FROM pg_catalog.unnest($1::pg_catalog.text[]) x)`,
    [tables.map((t) => qualified(t.schema, t.name))],
  );
  return r.rows.map((x) => x.pid);
}

/**
 * Freezes writes on the given tables in one transaction. In-flight writers get `drainTimeoutMs` to finish; then
 * the policy aborts (CUTOVER_ABORTED, nothing changed) or terminates them and tries once more.
 */
export async function freezeWrites(client: pg.ClientBase, tables: readonly Relation[], o: FreezeOptions): Promise<FreezeResult> {
  const started = performance.now();
  if (tables.length === 0) return { tables: 0, drainMs: 0, terminated: 0 };
  let terminated = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      await tryFreeze(client, tables, o);
      return { tables: tables.length, drainMs: Math.round(performance.now() - started), terminated };
    } catch (err) {
      const code = (err as { code?: string }).code;
      // 55P03 lock_timeout; 40P01 a deadlock with an application transaction (it or we were chosen)
      if (code !== '55P03' && code !== '40P01' && code !== '57014') throw err;
      if (code === '40P01' && attempt < 3) continue;
      if (o.onDrainTimeout === 'terminate' && attempt < 2) {
        const pids = await writersInFlight(client, tables);
        for (const pid of pids) await client.query('SELECT pg_catalog.pg_terminate_backend($1)', [pid]);
        terminated += pids.length;
        continue;
      }
      throw new PgshiftError('CUTOVER_ABORTED', `the write freeze could not start: write transactions were still in flight after ${o.drainTimeoutMs} ms`, {
        hint: 'Nothing was changed. Retry when the application is quieter, raise cutover.drain_timeout, or set cutover.on_drain_timeout: terminate.',
        cause: err,
      });
    }
  }
}

/** Tables that carry the freeze trigger (active or lifted). */
async function triggerTables(client: pg.ClientBase): Promise<Relation[]> {
  const r = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
      WHERE t.tgname = $1 AND pn.nspname = 'pgshift' AND p.proname = 'write_freeze'
      ORDER BY 1, 2`,
    [FREEZE_TRIGGER],
  );
  return r.rows;
}

/** Tables whose writes are frozen now: the trigger is there and the function raises (not lifted). */
export async function frozenTables(client: pg.ClientBase): Promise<Relation[]> {
  const active = await client.query<{ on: boolean }>(
    `SELECT coalesce(bool_or(p.prosrc LIKE '%RAISE EXCEPTION%'), false) AS on
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'pgshift' AND p.proname = 'write_freeze'`,
  );
  return active.rows[0]?.on ? triggerTables(client) : [];
}

/**
 * Lifts the freeze at once, without waiting for any lock: the function becomes a no-op (replacing it locks no
 * table, so readers and writers never queue behind the lift). Then the triggers are dropped where no transaction
 * holds the table (DROP TRIGGER needs an exclusive lock: tried with a short lock_timeout, skipped otherwise; a
 * lifted trigger left behind does nothing and is dropped by the next lift). `dropSchema` also drops schema
 * pgshift when nothing else is left in it (the source's; never the target's, which holds the state).
 */
export async function unfreezeWrites(client: pg.ClientBase, o: { dropSchema: boolean }): Promise<number> {
  const tables = await triggerTables(client);
  const hasFunction = await client.query(`SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgshift' AND p.proname = 'write_freeze'`);
  if (hasFunction.rowCount === 0) return 0;
  await client.query(LIFTED_SQL);
  let left = 0;
  for (const t of tables) {
    await client.query('BEGIN');
    try {
      await client.query("SET LOCAL lock_timeout = '500ms'");
      await client.query(`DROP TRIGGER IF EXISTS ${quoteIdent(FREEZE_TRIGGER)} ON ${qualified(t.schema, t.name)}`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if ((err as { code?: string }).code !== '55P03') throw err;
      left++;
    }
  }
  if (left === 0) {
    await client.query(`DROP FUNCTION IF EXISTS ${FREEZE_FUNCTION}`);
    if (o.dropSchema) {
      const rest = await client.query<{ n: string }>(
        `SELECT (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgshift')
              + (SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgshift') AS n`,
      );
      if (rest.rows[0]?.n === '0') await client.query('DROP SCHEMA IF EXISTS pgshift');
    }
  }
  return tables.length;
}
