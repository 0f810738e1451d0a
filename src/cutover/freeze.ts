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
 * A freeze is placed with a deadline (cutover.max_write_freeze from its first lock request) baked into the function:
 * past it, the server lets writes through by itself, so a pgshift that dies inside the freeze (SIGKILL, a closed
 * SSH session, a lost network) costs the application at most the budget the operator approved. Only the switch
 * makes it permanent (`makeFreezePermanent`: the deadline is checked in the transaction that removes it, and again
 * after its commit), so that after the switch the old database refuses stray writes until a rollback lifts it.
 * pgshift's own sync session passes by setting `pgshift.freeze_bypass` to the freeze's id in its transaction.
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
  /**
   * What is left of the freeze's budget now: the server lets writes through again by itself this long after the
   * freeze was requested, unless `makeFreezePermanent` removed the deadline first.
   */
  readonly expiresInMs: number;
}

export interface FreezeResult {
  readonly tables: number;
  /** From the first lock request to the commit that froze every table. */
  readonly drainMs: number;
  /** Sessions terminated by the `terminate` policy. */
  readonly terminated: number;
  /** When the server lets writes through again by itself (its clock). */
  readonly until: Date | null;
}

export interface Relation {
  readonly schema: string;
  readonly name: string;
}

/** The marker line of the freeze function: which freeze it is, and its deadline (or none: made permanent). */
const MARKER = /-- pgshift write freeze; (until ([0-9T:.Z-]+)|permanent)/;

/**
 * The freeze function: raises 25006 unless the session set pgshift.freeze_bypass to this freeze's id, or the
 * deadline has passed (then it lets every write through: the freeze ended by itself).
 */
function functionSql(id: string, until: Date | null): string {
  const expiry = until
    ? `
  IF pg_catalog.clock_timestamp() >= ${quoteLiteral(until.toISOString())}::pg_catalog.timestamptz THEN
    RETURN NULL; -- past cutover.max_write_freeze: the freeze ended by itself
  END IF;`
    : '';
  return `CREATE OR REPLACE FUNCTION pgshift.write_freeze() RETURNS trigger
  LANGUAGE plpgsql SET search_path = '' AS $pgshift$
-- pgshift write freeze; ${until ? `until ${until.toISOString()}` : 'permanent'}
BEGIN
  IF pg_catalog.current_setting('pgshift.freeze_bypass', true) = ${quoteLiteral(id)} THEN
    RETURN NULL;
  END IF;${expiry}
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

/**
 * How long one attempt waits for one table's lock before it lets go of all it holds and tries again: well below
 * deadlock_timeout (1 s by default), so that an application transaction that holds one frozen table and wants another
 * one pgshift already locked never waits long enough to run the deadlock check and be the victim. It just waits a
 * moment, then proceeds (and drains).
 */
export const FREEZE_LOCK_WAIT_MS = 200;

async function tryFreeze(
  client: pg.ClientBase,
  tables: readonly Relation[],
  o: FreezeOptions,
  expiresInMs: number,
  lockWaitMs: number,
): Promise<Date> {
  await client.query('BEGIN');
  try {
    // lock_timeout bounds each lock; statement_timeout bounds the LOCK statement over all the tables
    await client.query(lockTimeoutMs(lockWaitMs));
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(o.drainTimeoutMs))}`);
    await client.query('CREATE SCHEMA IF NOT EXISTS pgshift');
    // the deadline on the server's own clock (the one the function compares with), from this first lock request
    const until = (
      await client.query<{ until: Date }>(
        `SELECT pg_catalog.clock_timestamp() + $1::pg_catalog.float8 * interval '1 millisecond' AS until`,
        [Math.round(expiresInMs)],
      )
    ).rows[0]?.until as Date;
    await client.query(functionSql(o.id, until));
    // one statement takes every lock (the writers drain, readers go on: SHARE ROW EXCLUSIVE blocks no reader)
    await client.query(
      `LOCK TABLE ${tables.map((t) => `ONLY ${qualified(t.schema, t.name)}`).join(', ')} IN SHARE ROW EXCLUSIVE MODE`,
    );
    await client.query('SET LOCAL statement_timeout = 0');
    const existing = new Set((await triggerTables(client)).map((t) => qualified(t.schema, t.name)));
    for (const t of tables) {
      const q = qualified(t.schema, t.name);
      // a trigger left by a lifted freeze is active again with the function replaced above
      if (existing.has(q)) continue;
      await client.query(
        `CREATE TRIGGER ${quoteIdent(FREEZE_TRIGGER)} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${q} FOR EACH STATEMENT EXECUTE FUNCTION ${FUNCTION_SQL_NAME}()`,
      );
      // ALWAYS: a session with session_replication_role = replica (a logical replication worker) is frozen too
      await client.query(`ALTER TABLE ${q} ENABLE ALWAYS TRIGGER ${quoteIdent(FREEZE_TRIGGER)}`);
    }
    await client.query('COMMIT');
    return until;
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
 * the policy aborts (CUTOVER_ABORTED, nothing changed) or terminates them and tries once more. While they drain,
 * an attempt that cannot get a table's lock within FREEZE_LOCK_WAIT_MS rolls back (letting go of every lock it took)
 * and the next one starts a moment later: a writer that needs two frozen tables is never deadlocked by the freeze.
 */
export async function freezeWrites(
  client: pg.ClientBase,
  tables: readonly Relation[],
  o: FreezeOptions,
): Promise<FreezeResult> {
  const started = performance.now();
  if (tables.length === 0) return { tables: 0, drainMs: 0, terminated: 0, until: null };
  let terminated = 0;
  let terminatedOnce = false;
  let drainStarted = performance.now();
  for (;;) {
    const left = o.expiresInMs - (performance.now() - started);
    if (left <= 0) {
      throw new PgshiftError(
        'CUTOVER_ABORTED',
        'the write freeze could not start within cutover.max_write_freeze: write transactions were still in flight',
        {
          hint: 'Nothing was changed. Retry when the application is quieter, or raise cutover.max_write_freeze.',
        },
      );
    }
    const drainLeft = o.drainTimeoutMs - (performance.now() - drainStarted);
    try {
      const until = await tryFreeze(client, tables, o, left, Math.max(1, Math.min(FREEZE_LOCK_WAIT_MS, drainLeft)));
      return { tables: tables.length, drainMs: Math.round(performance.now() - started), terminated, until };
    } catch (err) {
      const code = (err as { code?: string }).code;
      // 55P03 lock_timeout; 40P01 a deadlock with an application transaction (it or we were chosen)
      if (code !== '55P03' && code !== '40P01' && code !== '57014') throw err;
      // still draining: every lock let go, the writers go on; try again in a moment
      if (code !== '57014' && performance.now() - drainStarted < o.drainTimeoutMs) {
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
        continue;
      }
      if (o.onDrainTimeout === 'terminate' && !terminatedOnce) {
        terminatedOnce = true;
        const pids = await writersInFlight(client, tables);
        for (const pid of pids) await client.query('SELECT pg_catalog.pg_terminate_backend($1)', [pid]);
        terminated += pids.length;
        // one more second to take the locks the terminated writers held
        drainStarted = performance.now() - o.drainTimeoutMs + Math.min(o.drainTimeoutMs, 1000);
        continue;
      }
      throw new PgshiftError(
        'CUTOVER_ABORTED',
        `the write freeze could not start: write transactions were still in flight after ${o.drainTimeoutMs} ms`,
        {
          hint: 'Nothing was changed. Retry when the application is quieter, raise cutover.drain_timeout, or set cutover.on_drain_timeout: terminate.',
          cause: err,
        },
      );
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

export interface FreezeStatus {
  /**
   * none: no freeze function; lifted: it does nothing; expired: its deadline passed (writes flow, its triggers are
   * left to the next lift); active: in force until `until`; permanent: in force until a lift (after a switch).
   */
  readonly state: 'none' | 'lifted' | 'expired' | 'active' | 'permanent';
  readonly until: Date | null;
  /** The tables that carry the trigger. */
  readonly tables: readonly Relation[];
}

/** Where the freeze of this database stands, by the function's own text and the server's clock. */
export async function freezeStatus(client: pg.ClientBase): Promise<FreezeStatus> {
  const r = await client.query<{ src: string; now: Date }>(
    `SELECT p.prosrc AS src, pg_catalog.clock_timestamp() AS now
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'pgshift' AND p.proname = 'write_freeze'`,
  );
  const row = r.rows[0];
  if (!row) return { state: 'none', until: null, tables: [] };
  const tables = await triggerTables(client);
  if (!row.src.includes('RAISE EXCEPTION')) return { state: 'lifted', until: null, tables };
  const m = MARKER.exec(row.src);
  // a function without a deadline (made permanent, or placed by an older pgshift) is in force until lifted
  const until = m?.[2] ? new Date(m[2]) : null;
  if (!until) return { state: 'permanent', until: null, tables };
  return { state: row.now.getTime() >= until.getTime() ? 'expired' : 'active', until, tables };
}

/** Tables whose writes are frozen now: the trigger is there and the function raises (not lifted, not expired). */
export async function frozenTables(client: pg.ClientBase): Promise<Relation[]> {
  const s = await freezeStatus(client);
  return s.state === 'active' || s.state === 'permanent' ? [...s.tables] : [];
}

/**
 * The switch point: the freeze on `tables` becomes permanent (the same function without its deadline), so that the
 * old side keeps refusing stray writes after the application moved. Refused (CUTOVER_ABORTED, nothing changed)
 * when the freeze is not in force on every table or its deadline has passed: then writes may have reached this side
 * since the final sync, and the switch must not happen. The deadline is checked in the transaction that removes it,
 * and once more after its commit (a commit that landed past the deadline may have let writes through: refused too;
 * the caller lifts the freeze). Idempotent: an already permanent freeze is left as it is.
 */
export async function makeFreezePermanent(
  client: pg.ClientBase,
  id: string,
  tables: readonly Relation[],
  what: { side: string; budgetMs: number },
): Promise<void> {
  const refuse = (why: string): PgshiftError =>
    new PgshiftError('CUTOVER_ABORTED', `the write freeze on the ${what.side} ${why}: the switch did not happen`, {
      hint: `Nothing was switched; the freeze is lifted. Run the command again (its catch-up shrinks what is left), or raise cutover.max_write_freeze (${what.budgetMs} ms).`,
    });
  if (tables.length === 0) return;
  let until: Date | null = null;
  await client.query('BEGIN');
  try {
    await client.query("SET LOCAL statement_timeout = '10s'");
    const s = await freezeStatus(client);
    const covered = new Set(s.tables.map((t) => qualified(t.schema, t.name)));
    if (s.state === 'expired')
      throw refuse(`reached cutover.max_write_freeze (${s.until?.toISOString() ?? '?'}) before the switch`);
    if (s.state !== 'active' && s.state !== 'permanent') throw refuse('is not in force any more');
    if (!tables.every((t) => covered.has(qualified(t.schema, t.name))))
      throw refuse('does not cover every migrated table any more');
    if (s.state === 'active') {
      until = s.until;
      await client.query(functionSql(id, null));
      const r = await client.query<{ ok: boolean }>(
        'SELECT pg_catalog.clock_timestamp() < $1::pg_catalog.timestamptz AS ok',
        [until],
      );
      if (r.rows[0]?.ok !== true)
        throw refuse(`reached cutover.max_write_freeze (${until?.toISOString() ?? '?'}) before the switch`);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  if (until) {
    const r = await client.query<{ ok: boolean }>(
      'SELECT pg_catalog.clock_timestamp() < $1::pg_catalog.timestamptz AS ok',
      [until],
    );
    if (r.rows[0]?.ok !== true)
      throw refuse(`was made permanent only at its deadline (${until.toISOString()}): writes may have passed`);
  }
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
  const hasFunction = await client.query(
    `SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgshift' AND p.proname = 'write_freeze'`,
  );
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
