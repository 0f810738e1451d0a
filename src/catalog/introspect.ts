import { readUnsupported } from './read/unsupported.js';
import { readCollations } from './read/collations.js';
import type pg from 'pg';

import { CatalogBuilder } from './builder.js';
import { fingerprint } from './fingerprint.js';
import { deepFreeze } from './freeze.js';
import { readComments } from './read/comments.js';
import type { ReadContext } from './read/context.js';
import { readDependencies } from './read/depends.js';
import { readExtensionMembers } from './read/extension-members.js';
import { readFunctions } from './read/functions.js';
import { readIndexes } from './read/indexes.js';
import { readPolicies } from './read/policies.js';
import { listSchemas, readSchemasAndExtensions } from './read/schemas.js';
import { readSequences, readSequenceValues } from './read/sequences.js';
import { readColumns, readTables } from './read/tables.js';
import { readTriggers } from './read/triggers.js';
import { readTypes } from './read/types.js';
import { readViews } from './read/views.js';
import type { Catalog, TableInfo } from './types.js';

/** Never read: the system schemas and pgshift's own state. */
export const SYSTEM_SCHEMAS: readonly string[] = ['pg_catalog', 'information_schema', 'pgshift'];

export interface IntrospectOptions {
  /** Schemas to leave out, besides the system ones and `pgshift`. */
  readonly excludeSchemas?: readonly string[];
}

/**
 * Settings of the read transaction: an empty search_path makes every deparse function schema-qualify what it
 * prints (as pg_dump does); fixed date, interval and float output keep literals (partition bounds, defaults) stable.
 */
const READ_SETTINGS = [
  "SET LOCAL search_path = ''",
  "SET LOCAL timezone = 'UTC'",
  "SET LOCAL datestyle = 'ISO, YMD'",
  "SET LOCAL intervalstyle = 'postgres'",
  'SET LOCAL extra_float_digits = 3',
  "SET LOCAL bytea_output = 'hex'",
  'SET LOCAL standard_conforming_strings = on',
];

/**
 * Reads every non-system schema of the database `client` is connected to, in one REPEATABLE READ READ ONLY
 * transaction, into a frozen Catalog. One query per kind of object, whatever the number of objects.
 */
export async function introspect(client: pg.ClientBase, options: IntrospectOptions = {}): Promise<Catalog> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const catalog = await read(client, options);
    await client.query('COMMIT');
    return catalog;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function read(client: pg.ClientBase, options: IntrospectOptions): Promise<Catalog> {
  for (const s of READ_SETTINGS) await client.query(s);
  const info = await client.query<{ v: number; db: string }>(
    "SELECT pg_catalog.current_setting('server_version_num')::pg_catalog.int4 AS v, pg_catalog.current_database()::pg_catalog.text AS db",
  );
  const versionNum = info.rows[0]?.v ?? 0;
  const database = info.rows[0]?.db ?? '';
  const schemas = await listSchemas(client, [...SYSTEM_SCHEMAS, ...(options.excludeSchemas ?? [])]);

  const b = new CatalogBuilder();
  const ctx: ReadContext = {
    client,
    versionNum,
    nsOids: schemas.map((s) => s.oid),
    b,
    relations: new Map(),
    columnNames: new Map(),
    identity: new Map(),
    tables: new Map(),
  };
  await readSchemasAndExtensions(ctx, schemas);
  await readCollations(ctx);
  await readTypes(ctx);
  await readFunctions(ctx);
  const sequences = await readSequences(ctx);
  const columns = await readColumns(ctx);
  await readTables(ctx, columns);
  await readViews(ctx, columns);
  await readIndexes(ctx, columns);
  await readTriggers(ctx);
  await readPolicies(ctx);
  await readSequenceValues(ctx, sequences);
  await readComments(ctx);
  await readDependencies(ctx);
  const extensionMembers = await readExtensionMembers(ctx);
  const unsupported = await readUnsupported(ctx);
  const eventTriggers = (
    await client.query<{ n: string }>(
      `SELECT t.evtname::pg_catalog.text AS n FROM pg_catalog.pg_event_trigger t
        WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass AND d.objid = t.oid AND d.deptype = 'e')
        ORDER BY 1`,
    )
  ).rows.map((x) => x.n);
  const memberOf = (
    await client.query<{ r: string }>(
      `SELECT r.rolname::pg_catalog.text AS r FROM pg_catalog.pg_roles r
        WHERE CASE WHEN pg_catalog.current_setting('server_version_num')::pg_catalog.int4 >= 160000
                   THEN pg_catalog.pg_has_role(current_user, r.oid, 'SET') ELSE pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER') END
        ORDER BY 1`,
    )
  ).rows.map((x) => x.r);
  const roles = (
    await client.query<{ r: string }>('SELECT rolname::pg_catalog.text AS r FROM pg_catalog.pg_roles ORDER BY 1')
  ).rows.map((x) => x.r);

  // an OWNED BY whose table is not read (excluded schema) cannot be created
  for (const d of [...b.drafts.values()]) {
    if (d.kind === 'sequence_owner' && d.table && !b.drafts.has(`table ${d.table.schema}.${d.table.name}`))
      b.drafts.delete(d.address);
  }

  const objects = b.objects();
  const tables: TableInfo[] = [...ctx.tables.values()]
    .map((s) => ({ ...s.info, key: s.key, keyKind: s.keyKind }))
    .sort((x, y) => (x.address < y.address ? -1 : x.address > y.address ? 1 : 0));
  return deepFreeze({
    serverVersionNum: versionNum,
    database,
    fingerprint: fingerprint(objects),
    objects,
    tables,
    extensionMembers,
    roles,
    memberOf,
    eventTriggers,
    unsupported,
  });
}
