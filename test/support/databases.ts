/**
 * Per-test-file databases on the shared source and target servers chosen by the global setup.
 */
import { randomBytes } from 'node:crypto';

import { inject } from 'vitest';

import type { PgBackend, PgServerInfo } from './context.js';
import { quoteIdent, quoteLiteral, withDatabase, withPg } from './sql.js';

export { quoteIdent, quoteLiteral, waitForSettled, withDatabase, withPg } from './sql.js';

export type { PgBackend, PgServerInfo } from './context.js';

export interface TestServers {
  backend: PgBackend;
  source: PgServerInfo;
  target: PgServerInfo;
}

/** The shared servers provided by test/support/global-setup.ts. */
export function testServers(): TestServers {
  return { backend: inject('pgBackend'), source: inject('pgSource'), target: inject('pgTarget') };
}

/** CREATE DATABASE on the server of `adminUrl` (from template0, so concurrent creates never clash). */
export async function createDatabase(adminUrl: string, name: string): Promise<void> {
  await withPg(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING 'UTF8'`));
}

function isMissingDatabase(err: unknown): boolean {
  return (err as { code?: string }).code === '3D000';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Drop a database even when it is busy: removes its subscriptions (without touching the
 * remote slot), rolls back its prepared transactions, terminates its backends and the
 * walsenders of its replication slots, drops those slots, then DROP DATABASE ... WITH (FORCE).
 * No error when it does not exist.
 */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  try {
    await withPg(withDatabase(adminUrl, name), async (c) => {
      const subs = await c.query<{ subname: string }>(
        'SELECT subname FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())',
      );
      for (const { subname } of subs.rows) {
        const q = quoteIdent(subname);
        await c.query(`ALTER SUBSCRIPTION ${q} DISABLE`);
        await c.query(`ALTER SUBSCRIPTION ${q} SET (slot_name = NONE)`);
        // a table sync still under way has a slot on the publisher, which DROP SUBSCRIPTION drops over a new
        // connection: one that fails (the publisher's session ended under it) is tried again
        for (let attempt = 0; ; attempt++) {
          try {
            await c.query(`DROP SUBSCRIPTION ${q}`);
            break;
          } catch (err) {
            if (attempt >= 5 || !/on publisher/.test((err as Error).message)) throw err;
            await new Promise((r) => setTimeout(r, 300));
          }
        }
      }
      const prepared = await c.query<{ gid: string }>(
        'SELECT gid FROM pg_prepared_xacts WHERE database = current_database()',
      );
      for (const { gid } of prepared.rows) {
        await c.query(`ROLLBACK PREPARED ${quoteLiteral(gid)}`);
      }
    });
  } catch (err) {
    if (isMissingDatabase(err)) return;
    throw err;
  }

  await withPg(adminUrl, async (c) => {
    const { rows } = await c.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v");
    const versionNum = rows[0]?.v ?? 0;
    for (let attempt = 0; ; attempt++) {
      await c.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
      await c.query(
        'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL',
        [name],
      );
      try {
        await c.query(
          'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active',
          [name],
        );
      } catch {
        // a slot became active again or vanished meanwhile: retry below
      }
      const left = await c.query('SELECT 1 FROM pg_replication_slots WHERE database = $1', [name]);
      if (left.rowCount === 0) break;
      if (attempt >= 50) throw new Error(`could not drop the replication slots of database ${name}`);
      await sleep(100);
    }
    const force = versionNum >= 130000 ? ' WITH (FORCE)' : '';
    await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${force}`);
  });
}

/** t_<label>_<8 hex>, label reduced to [a-z0-9_], at most 63 bytes in all. */
export function uniqueDatabaseName(label: string): string {
  const clean =
    label
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/_+/g, '_')
      .replace(/^_|_$/g, '')
      .slice(0, 40) || 'db';
  return `t_${clean}_${randomBytes(4).toString('hex')}`;
}

export interface FreshDatabases {
  /** the database name (the same on both servers) */
  name: string;
  /** superuser URL of the new database on the source server */
  sourceUrl: string;
  /** superuser URL of the new database on the target server */
  targetUrl: string;
  /**
   * The source database as the target server reaches it (for CREATE SUBSCRIPTION ... CONNECTION):
   * equal to sourceUrl except with the docker backend, where it uses the container network.
   */
  sourceUrlFromTarget: string;
  sourceAdminUrl: string;
  targetAdminUrl: string;
  /** drop both databases (idempotent) */
  drop: () => Promise<void>;
}

/**
 * Create a uniquely named database on the source AND the target server. Call `drop()` in afterAll.
 *
 * @param label  a readable part of the name (the test file's topic)
 * @param servers  defaults to the shared servers of the global setup
 */
export async function freshDatabases(label: string, servers: TestServers = testServers()): Promise<FreshDatabases> {
  const name = uniqueDatabaseName(label);
  const sourceAdminUrl = servers.source.adminUrl;
  const targetAdminUrl = servers.target.adminUrl;
  const results = await Promise.allSettled([
    createDatabase(sourceAdminUrl, name),
    createDatabase(targetAdminUrl, name),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  let dropped = false;
  const drop = async (): Promise<void> => {
    if (dropped) return;
    await Promise.all([dropDatabase(sourceAdminUrl, name), dropDatabase(targetAdminUrl, name)]);
    dropped = true;
  };
  if (failed) {
    await drop().catch(() => undefined);
    throw failed.reason;
  }
  return {
    name,
    sourceUrl: withDatabase(sourceAdminUrl, name),
    targetUrl: withDatabase(targetAdminUrl, name),
    sourceUrlFromTarget: withDatabase(servers.source.adminUrlFromTarget ?? sourceAdminUrl, name),
    sourceAdminUrl,
    targetAdminUrl,
    drop,
  };
}
