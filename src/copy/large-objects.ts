/**
 * The large objects copy: the source's pg_largeobject_metadata in OID order, in batches (at most `objects` objects or
 * `bytes` bytes, whichever comes first). Each batch is read in one REPEATABLE READ snapshot on the source and written
 * in ONE target transaction holding the objects (lo_from_bytea / lo_create + lo_put with their OIDs), their owners
 * and grants, their records in pgshift.large_objects and the checkpoint: a kill -9 loses at most the batch under way.
 * Content moves in chunks of at most `chunk` bytes: a several-GB object never sits in memory.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../db/connect.js';
import { quoteIdent } from '../db/ident.js';
import { PgshiftError } from '../errors/index.js';
import type { LargeObjectsAction } from '../plan/model.js';
import { aclSql } from '../catalog/read/context.js';
import type { AclItem } from '../catalog/types.js';
import { largeObjectDigests } from '../verify/large-objects.js';
import {
  forgetLargeObjects,
  listTargetOwnLargeObjects,
  ownLargeObjects,
  readLargeObjectProgress,
  recordLargeObjectBatch,
  recordSyncedLargeObjects,
  recountLargeObjects,
  targetOwnLargeObjects,
  type LargeObjectProgress,
} from '../state/large-objects.js';
import { assertLockHeld } from '../state/lock.js';

export interface LargeObjectLimits {
  /** Objects per batch (one target transaction). */
  readonly objects: number;
  /** Bytes per batch (at least one object, whatever its size). */
  readonly bytes: number;
  /** Bytes per read and write of an object's content (and per group of small objects moved in one statement). */
  readonly chunk: number;
}

export const LARGE_OBJECT_LIMITS: LargeObjectLimits = {
  objects: 1000,
  bytes: 64 * 1024 * 1024,
  chunk: 4 * 1024 * 1024,
};

export interface LargeObjectCopyOptions {
  readonly runId: string;
  readonly lockId: string;
  readonly source: pg.Client;
  readonly signal?: AbortSignal;
  /** Objects and bytes copied by this run so far (after each committed batch). */
  onProgress?(objects: number, bytes: number): void;
  readonly limits?: LargeObjectLimits;
}

export interface LargeObjectCopyResult {
  readonly objects: number;
  readonly bytes: number;
  readonly batches: number;
  /** Stopped between two committed batches (the signal): the next apply resumes after the last one. */
  readonly stopped: boolean;
}

interface SizedObject {
  readonly oid: string;
  readonly size: number;
}

interface SourceObject extends SizedObject {
  readonly owner: string;
  readonly acl: AclItem[] | null;
}

const INV_READ = 0x40000;
const PRIVILEGES = new Set(['SELECT', 'UPDATE']);

/** An OID as SQL text (DDL takes no parameter): digits only, checked. */
function oidSql(oid: string): string {
  if (!/^\d{1,10}$/.test(oid)) throw new PgshiftError('INTERNAL', `not an OID: ${JSON.stringify(oid)}`);
  return oid;
}

/** How the owners and grantees of the source's large objects map onto the target's roles (the plan's action's). */
export type LargeObjectRoleMaps = Pick<LargeObjectsAction, 'owners' | 'grantees'>;

/**
 * Large objects with their sizes, in OID order: `columns` of pg_largeobject_metadata `m` where `where`. Each object
 * is opened, sought to its end (lo_lseek64: no page read) and closed again in the same query: descriptors left open
 * until the transaction's end make every lo_open slower than the last (100,000 objects in one transaction: 20 s
 * here, 0.7 s in pages of 10,000 closed as they go).
 */
function sizedSql(columns: string, where: string, limit = ''): string {
  // opened above the LIMIT (which an index scan ends early), each closed before the next is opened
  return `SELECT z.* FROM (
            SELECT y.*, pg_catalog.lo_close(y.fd) AS closed FROM (
              SELECT x.*, pg_catalog.lo_lseek64(x.fd, 0, 2)::text AS size FROM (
                SELECT l.*, pg_catalog.lo_open(l.m_oid, ${INV_READ}) AS fd FROM (
                  SELECT ${columns}, m.oid AS m_oid FROM pg_catalog.pg_largeobject_metadata m
                   WHERE ${where} ORDER BY m.oid ${limit}) l OFFSET 0) x OFFSET 0) y OFFSET 0) z
          ORDER BY z.m_oid`;
}

/**
 * A listing that opens every object (sizedSql): refused for an object the role may not read (42501), it becomes
 * LARGE_OBJECTS_UNREADABLE (the plan's blocker of that name lists them). Skipping the object instead would read as
 * gone from that side, and the sync would unlink its copy on the other.
 */
async function readable<T>(side: 'source' | 'target', after: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err;
    throw new PgshiftError(
      'LARGE_OBJECTS_UNREADABLE',
      `large_objects: the ${side} role cannot read a large object with an OID above ${after} on the ${side} (one created after the plan by a role that granted it nothing); nothing of its page was changed`,
      {
        hint: `Run \`pgshift plan\` (its LARGE_OBJECTS_UNREADABLE finding names the first such OID); have the object's owner run GRANT SELECT ON LARGE OBJECT <oid> TO <the ${side} role> (or connect as a superuser or its owner), then run the command again.`,
        cause: err,
      },
    );
  }
}

/** The next objects after `last` on the source, with their sizes. */
async function listAfter(source: pg.ClientBase, last: string, limit: number): Promise<SourceObject[]> {
  const r = await readable('source', last, () =>
    source.query<{ oid: string; owner: string; acl: AclItem[] | null; size: string }>(
      sizedSql(
        `m.oid::text AS oid, pg_catalog.pg_get_userbyid(m.lomowner)::text AS owner, ${aclSql('m.lomacl')} AS acl`,
        'm.oid > $1::oid',
        'LIMIT $2',
      ),
      [last, limit],
    ),
  );
  return r.rows.map((x) => ({ oid: x.oid, owner: x.owner, acl: x.acl, size: Number(x.size) }));
}

/** Objects after `last` with their sizes only (what the cutover's sync compares), `limit` at most. */
async function sizesAfter(
  client: pg.ClientBase,
  side: 'source' | 'target',
  last: string,
  limit: number,
): Promise<SizedObject[]> {
  const r = await readable(side, last, () =>
    client.query<{ oid: string; size: string }>(sizedSql('m.oid::text AS oid', 'm.oid > $1::oid', 'LIMIT $2'), [
      last,
      limit,
    ]),
  );
  return r.rows.map((x) => ({ oid: x.oid, size: Number(x.size) }));
}

/** Owners and grants of the objects about to be copied (`sized`, in their order). */
async function withRoles(client: pg.ClientBase, sized: readonly SizedObject[]): Promise<SourceObject[]> {
  if (sized.length === 0) return [];
  const r = await client.query<{ oid: string; owner: string; acl: AclItem[] | null }>(
    `SELECT m.oid::text AS oid, pg_catalog.pg_get_userbyid(m.lomowner)::text AS owner, ${aclSql('m.lomacl')} AS acl
       FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = ANY ($1::oid[])`,
    [sized.map((o) => o.oid)],
  );
  const roles = new Map(r.rows.map((x) => [x.oid, x]));
  // an object unlinked between the two reads (another snapshot than the page's) is left for the next sync
  return sized.flatMap((o) => {
    const x = roles.get(o.oid);
    return x ? [{ ...o, owner: x.owner, acl: x.acl }] : [];
  });
}

/** The batch: a prefix of `list` within the limits (at least one object). */
function batchOf(list: readonly SourceObject[], limits: LargeObjectLimits): SourceObject[] {
  const out: SourceObject[] = [];
  let bytes = 0;
  for (const o of list) {
    if (out.length > 0 && (out.length >= limits.objects || bytes + o.size > limits.bytes)) break;
    out.push(o);
    bytes += o.size;
  }
  return out;
}

/** Groups of small objects moved in one statement each (at most `chunk` bytes a group), and the large ones. */
function split(batch: readonly SourceObject[], chunk: number): { groups: SourceObject[][]; large: SourceObject[] } {
  const groups: SourceObject[][] = [];
  const large: SourceObject[] = [];
  let group: SourceObject[] = [];
  let bytes = 0;
  for (const o of batch) {
    if (o.size > chunk / 4) {
      large.push(o);
      continue;
    }
    if (group.length > 0 && bytes + o.size > chunk) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(o);
    bytes += o.size;
  }
  if (group.length > 0) groups.push(group);
  return { groups, large };
}

/** Owners and grants of the batch's objects on the target, as the plan maps the roles: one multi-statement query. */
function rolesSql(batch: readonly SourceObject[], a: LargeObjectRoleMaps): string {
  const stmts: string[] = [];
  for (const o of batch) {
    const on = `LARGE OBJECT ${oidSql(o.oid)}`;
    const owner = a.owners[o.owner];
    if (owner !== undefined) stmts.push(`ALTER ${on} OWNER TO ${quoteIdent(owner)}`);
    for (const item of o.acl ?? []) {
      if (item.grantee === o.owner) continue; // the owner's own privileges follow the owner
      const to = a.grantees[item.grantee];
      const privileges = item.privileges.filter((p) => PRIVILEGES.has(p));
      if (to === undefined || privileges.length === 0) continue;
      stmts.push(`GRANT ${privileges.join(', ')} ON ${on} TO ${to === '' ? 'PUBLIC' : quoteIdent(to)}`);
    }
  }
  return stmts.join(';\n');
}

/** Role maps that keep `objects`' owners and grantees as they are (an object recreated where it was). */
function sameRoles(objects: readonly SourceObject[]): LargeObjectRoleMaps {
  const owners: Record<string, string> = {};
  const grantees: Record<string, string> = {};
  for (const o of objects) {
    owners[o.owner] = o.owner;
    for (const item of o.acl ?? []) grantees[item.grantee] = item.grantee;
  }
  return { owners, grantees };
}

/** A target object with one of the batch's OIDs that pgshift did not create stops the copy (it is never replaced). */
async function checkTarget(target: pg.ClientBase, batch: readonly SourceObject[]): Promise<void> {
  const oids = batch.map((o) => o.oid);
  const r = await target.query<{ oid: string }>(
    'SELECT m.oid::text AS oid FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = ANY ($1::oid[]) ORDER BY m.oid',
    [oids],
  );
  if (r.rows.length === 0) return;
  const mine = await ownLargeObjects(
    target,
    r.rows.map((x) => x.oid),
  );
  const foreign = r.rows.map((x) => x.oid).filter((o) => !mine.has(o));
  if (foreign.length > 0) {
    const first = foreign[0] as string;
    throw new PgshiftError(
      'LARGE_OBJECT_EXISTS',
      `large_objects: the target already has large object ${first}${foreign.length > 1 ? ` (and ${foreign.length - 1} more in this batch)` : ''}, which pgshift did not create; the source has one with the same OID (large objects keep their OIDs): if nothing on the target uses it, remove it there (SELECT lo_unlink(${first})) and run \`pgshift apply\` again`,
      {
        hint: `Check what uses it on the target; if nothing does, remove it there (SELECT lo_unlink(${first})), or migrate into a target without it. Then run \`pgshift apply\` again: the batches already copied are kept.`,
      },
    );
  }
  // pgshift's own (an earlier copy of these OIDs): copied again from the source
  for (const oid of mine) await target.query('SELECT pg_catalog.lo_unlink($1::oid)', [oid]);
}

/** `length` bytes of a large object from `offset` (fewer at its end). */
async function readChunk(source: pg.ClientBase, oid: string, offset: number, length: number): Promise<Buffer> {
  const r = await source.query<{ data: Buffer }>('SELECT pg_catalog.lo_get($1::oid, $2::int8, $3::int4) AS data', [
    oid,
    String(offset),
    length,
  ]);
  return r.rows[0]?.data ?? Buffer.alloc(0);
}

/** readChunk started now and awaited later: a failure meanwhile is the awaiter's, never an unhandled rejection. */
function prefetch(source: pg.ClientBase, oid: string, offset: number, length: number): Promise<Buffer> {
  const p = readChunk(source, oid, offset, length);
  p.catch(() => undefined);
  return p;
}

/** Copies the batch's content; returns each object's size and md5 as read on the source. */
async function copyContent(
  source: pg.ClientBase,
  target: pg.ClientBase,
  batch: readonly SourceObject[],
  chunk: number,
): Promise<Array<{ oid: string; bytes: number; md5: string }>> {
  const done = new Map<string, { oid: string; bytes: number; md5: string }>();
  const { groups, large } = split(batch, chunk);
  for (const g of groups) {
    const r = await source.query<{ oid: string; data: Buffer }>(
      `SELECT u.oid::text AS oid, pg_catalog.lo_get(u.oid) AS data
         FROM pg_catalog.unnest($1::oid[]) WITH ORDINALITY AS u(oid, i) ORDER BY u.i`,
      [g.map((o) => o.oid)],
    );
    // unnest of several arrays is FROM-clause syntax, not a function of pg_catalog: it takes no schema
    await target.query(
      'SELECT pg_catalog.lo_from_bytea(t.oid, t.data) FROM unnest($1::oid[], $2::bytea[]) AS t(oid, data)',
      [r.rows.map((x) => x.oid), r.rows.map((x) => x.data)],
    );
    for (const x of r.rows)
      done.set(x.oid, { oid: x.oid, bytes: x.data.length, md5: createHash('md5').update(x.data).digest('hex') });
  }
  for (const o of large) {
    await target.query('SELECT pg_catalog.lo_create($1::oid)', [o.oid]);
    const h = createHash('md5');
    let offset = 0;
    // the next chunk is read while this one is written: two chunks in memory at most; a short one is the last
    let next: Promise<Buffer> | null = prefetch(source, o.oid, 0, chunk);
    while (next) {
      const data: Buffer = await next;
      next = data.length >= chunk ? prefetch(source, o.oid, offset + data.length, chunk) : null;
      if (data.length > 0) {
        await target.query('SELECT pg_catalog.lo_put($1::oid, $2::int8, $3::bytea)', [o.oid, String(offset), data]);
        h.update(data);
        offset += data.length;
      }
    }
    done.set(o.oid, { oid: o.oid, bytes: offset, md5: h.digest('hex') });
  }
  return batch.map((o) => done.get(o.oid) as { oid: string; bytes: number; md5: string });
}

/**
 * Copies the large objects after the checkpoint, batch by batch, until the source has none left (the checkpoint then
 * says done) or the signal stops it between two batches.
 */
export async function copyLargeObjects(
  action: LargeObjectsAction,
  target: pg.Client,
  opts: LargeObjectCopyOptions,
): Promise<LargeObjectCopyResult> {
  const limits = opts.limits ?? LARGE_OBJECT_LIMITS;
  let last = (await readLargeObjectProgress(target))?.lastOid ?? '0';
  let objects = 0;
  let bytes = 0;
  let batches = 0;
  for (;;) {
    if (opts.signal?.aborted) return { objects, bytes, batches, stopped: true };
    // one snapshot of the source for the batch: its list, sizes and content agree
    const result = await withTransaction(
      opts.source,
      async () => {
        const list = await listAfter(opts.source, last, limits.objects);
        const batch = batchOf(list, limits);
        const done = batch.length === list.length && list.length < limits.objects;
        const moved = await withTransaction(target, async () => {
          await assertLockHeld(target, opts.lockId, action.address);
          const previous: LargeObjectProgress | undefined = await readLargeObjectProgress(target, { forUpdate: true });
          if (batch.length > 0) {
            await checkTarget(target, batch);
            const copied = await copyContent(opts.source, target, batch, limits.chunk);
            const roles = rolesSql(batch, action);
            if (roles) await target.query(roles);
            await recordLargeObjectBatch(target, { runId: opts.runId, objects: copied, previous, done });
            return copied.reduce((n, o) => n + o.bytes, 0);
          }
          if (previous?.status !== 'done')
            await recordLargeObjectBatch(target, { runId: opts.runId, objects: [], previous, done: true });
          return 0;
        });
        return { batch, done, moved };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
    if (result.batch.length > 0) {
      batches++;
      objects += result.batch.length;
      bytes += result.moved;
      last = (result.batch.at(-1) as SourceObject).oid;
      opts.onProgress?.(objects, bytes);
    }
    if (result.done) return { objects, bytes, batches, stopped: false };
  }
}

export interface LargeObjectSyncOptions {
  readonly runId: string;
  readonly roles: LargeObjectRoleMaps;
  readonly limits?: LargeObjectLimits;
  /** Called between batches (a freeze's budget). */
  checkDeadline?(): void;
  /**
   * Also compare the content of the objects whose size did not change (each server digests its side, chunk by
   * chunk): what a change in place that keeps the size needs. It reads every migrated object on both sides, so the
   * catch-ups before a freeze ask for it and the syncs inside one do not.
   */
  readonly compareContent?: boolean;
}

export interface LargeObjectSyncResult {
  /** Objects copied: new on the source, or copied again because their size changed. */
  readonly copied: number;
  readonly bytes: number;
  /** Objects pgshift had created that the source no longer has: unlinked on the target. */
  readonly unlinked: number;
}

/** Source objects listed per round trip of the sync (and target records per round trip). */
const SYNC_PAGE = 10_000;

/** A page of one side's objects and its OID range, (after, upper], open above for the last page. */
interface OidPage {
  readonly list: readonly SizedObject[];
  /** `oid > $1::oid [AND oid <= $2::oid]`, with `params`. */
  readonly where: string;
  readonly params: readonly string[];
}

/** Whether the target has pgshift's records of large objects (a state from migration 0009 on). */
async function tracksLargeObjects(target: pg.ClientBase): Promise<boolean> {
  const r = await target.query<{ ok: boolean }>(
    `SELECT pg_catalog.to_regclass('pgshift.large_objects') IS NOT NULL AS ok`,
  );
  return r.rows[0]?.ok === true;
}

/**
 * The pages of the source's objects in OID order, SYNC_PAGE at a time, each in one REPEATABLE READ snapshot of it:
 * `fn` compares and moves one page; the totals add up.
 */
async function eachOidPage(
  source: pg.ClientBase,
  checkDeadline: (() => void) | undefined,
  fn: (page: OidPage) => Promise<LargeObjectSyncResult>,
): Promise<LargeObjectSyncResult> {
  let after = '0';
  let total: LargeObjectSyncResult = { copied: 0, bytes: 0, unlinked: 0 };
  for (;;) {
    checkDeadline?.();
    const { upper, r } = await withTransaction(
      source,
      async () => {
        const list = await sizesAfter(source, 'source', after, SYNC_PAGE);
        const top = list.length === SYNC_PAGE ? (list.at(-1) as SizedObject).oid : null;
        const where = `oid > $1::oid${top ? ' AND oid <= $2::oid' : ''}`;
        return { upper: top, r: await fn({ list, where, params: top ? [after, top] : [after] }) };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
    total = { copied: total.copied + r.copied, bytes: total.bytes + r.bytes, unlinked: total.unlinked + r.unlinked };
    if (upper === null) return total;
    after = upper;
  }
}

/**
 * The OIDs of `oids` whose content differs between the two sides (or that `b` lacks); sizes are known to agree.
 */
async function changedContent(a: pg.ClientBase, b: pg.ClientBase, oids: readonly string[]): Promise<Set<string>> {
  if (oids.length === 0) return new Set();
  const [x, y] = [await largeObjectDigests(a, oids), await largeObjectDigests(b, oids)];
  return new Set(oids.filter((oid) => x.has(oid) && x.get(oid)?.digest !== y.get(oid)?.digest));
}

/**
 * The cutover's sync of the large objects (logical decoding carries none of their changes, and a rescan of tables
 * does not see them): by OID, the source's objects against those pgshift recorded on the target. An object the source
 * has and pgshift did not copy (created since, whatever its OID: a wrapped OID counter or an explicit one included) is
 * copied; one whose size changed is copied again, and with `compareContent` one changed in place too; one pgshift
 * copied that the source no longer has is unlinked on the target. Sizes come from lo_lseek64 (no content read).
 * Pages of the source's list are each read in one REPEATABLE READ snapshot with the content of their objects; every
 * target batch commits its objects with their records, as the copy's do. First, the target's own objects (those
 * pgshift did not record) are listed, so that a rollback after this cutover leaves them where they are.
 */
export async function syncLargeObjects(
  source: pg.ClientBase,
  target: pg.ClientBase,
  opts: LargeObjectSyncOptions,
): Promise<LargeObjectSyncResult> {
  const limits = opts.limits ?? LARGE_OBJECT_LIMITS;
  if (!(await tracksLargeObjects(target))) return { copied: 0, bytes: 0, unlinked: 0 };
  await listTargetOwnLargeObjects(target);
  return eachOidPage(source, opts.checkDeadline, async (page) => {
    const recorded = await target.query<{ oid: string; bytes: string }>(
      `SELECT oid::text AS oid, bytes::text AS bytes FROM pgshift.large_objects WHERE ${page.where} ORDER BY oid`,
      [...page.params],
    );
    const known = new Map(recorded.rows.map((r) => [r.oid, Number(r.bytes)]));
    const onSource = new Set(page.list.map((o) => o.oid));
    const gone = recorded.rows.map((r) => r.oid).filter((oid) => !onSource.has(oid));
    if (gone.length > 0) {
      await withTransaction(target, async () => {
        for (const oid of gone) {
          // already unlinked on the target (by hand): only its record goes
          await target.query(
            'SELECT pg_catalog.lo_unlink(m.oid) FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = $1::oid',
            [oid],
          );
        }
        await forgetLargeObjects(target, gone);
        await recountLargeObjects(target);
      });
    }
    const changed = opts.compareContent
      ? await changedContent(
          source,
          target,
          page.list.filter((o) => known.get(o.oid) === o.size).map((o) => o.oid),
        )
      : new Set<string>();
    let todo = await withRoles(
      source,
      page.list.filter((o) => known.get(o.oid) !== o.size || changed.has(o.oid)),
    );
    let bytes = 0;
    let copied = 0;
    while (todo.length > 0) {
      opts.checkDeadline?.();
      const batch = batchOf(todo, limits);
      todo = todo.slice(batch.length);
      bytes += await withTransaction(target, async () => {
        await checkTarget(target, batch);
        const done = await copyContent(source, target, batch, limits.chunk);
        const roles = rolesSql(batch, opts.roles);
        if (roles) await target.query(roles);
        await recordSyncedLargeObjects(target, opts.runId, done);
        return done.reduce((sum, o) => sum + o.bytes, 0);
      });
      copied += batch.length;
    }
    return { copied, bytes, unlinked: gone.length };
  });
}

/** An object's size and md5 as `client` has it now, read chunk by chunk (in the caller's snapshot). */
async function md5Of(client: pg.ClientBase, oid: string, chunk: number): Promise<{ bytes: number; md5: string }> {
  const h = createHash('md5');
  let bytes = 0;
  for (;;) {
    const data = await readChunk(client, oid, bytes, chunk);
    h.update(data);
    bytes += data.length;
    if (data.length < chunk) return { bytes, md5: h.digest('hex') };
  }
}

/** The page of the target's objects a carry-back works on, with what the target's state says of them. */
interface CarryBackPage extends OidPage {
  /** The last OID of a full page (the next starts after it), null on the last page. */
  readonly top: string | null;
  /** Of the page's OID range: the objects pgshift migrated (recorded). */
  readonly migrated: ReadonlySet<string>;
  /** Of the page's objects: the target's own (listed by the cutover), never carried. */
  readonly own: ReadonlySet<string>;
}

/**
 * The rollback's carry-back of the large objects (the cutover's sync, reversed), by OID over the target's objects:
 * one the source lacks (created on the target since the cutover) is copied to the source with its OID and recorded
 * as pgshift's on the target (a later cutover then finds it in place); one whose size differs, or with
 * `compareContent` whose content does, is copied again over the source's, when pgshift had migrated it; one pgshift
 * had migrated that the target no longer has is unlinked on the source. The target's own objects (those it had
 * before the cutover, listed by it) stay where they are. An object both sides have that pgshift has no record of is
 * adopted when it is the same on both (a carry-back stopped between the source's commit and its record); otherwise
 * (written on the source since) it stops the carry-back with LARGE_OBJECT_EXISTS: it is never replaced. Each batch
 * commits on the source, then its records on the target. `roles` maps the target's owners and grantees to the
 * source's.
 */
export async function carryBackLargeObjects(
  target: pg.ClientBase,
  source: pg.ClientBase,
  opts: LargeObjectSyncOptions,
): Promise<LargeObjectSyncResult> {
  const limits = opts.limits ?? LARGE_OBJECT_LIMITS;
  let total: LargeObjectSyncResult = { copied: 0, bytes: 0, unlinked: 0 };
  if (!(await tracksLargeObjects(target))) return total;
  let after = '0';
  for (;;) {
    opts.checkDeadline?.();
    const page = await withTransaction(
      target,
      async (): Promise<CarryBackPage> => {
        const list = await sizesAfter(target, 'target', after, SYNC_PAGE);
        const top = list.length === SYNC_PAGE ? (list.at(-1) as SizedObject).oid : null;
        const where = `oid > $1::oid${top ? ' AND oid <= $2::oid' : ''}`;
        const params = top ? [after, top] : [after];
        const recorded = await target.query<{ oid: string }>(
          `SELECT oid::text AS oid FROM pgshift.large_objects WHERE ${where}`,
          params,
        );
        const own = await targetOwnLargeObjects(
          target,
          list.map((o) => o.oid),
        );
        return { list, where, params, top, migrated: new Set(recorded.rows.map((r) => r.oid)), own };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
    const r = await carryBackPage(target, source, page, opts, limits);
    total = { copied: total.copied + r.copied, bytes: total.bytes + r.bytes, unlinked: total.unlinked + r.unlinked };
    if (page.top === null) return total;
    after = page.top;
  }
}

async function carryBackPage(
  target: pg.ClientBase,
  source: pg.ClientBase,
  page: CarryBackPage,
  opts: LargeObjectSyncOptions,
  limits: LargeObjectLimits,
): Promise<LargeObjectSyncResult> {
  const { list, migrated, own } = page;
  const onSource = await readable('source', page.params[0] as string, () =>
    source.query<{ oid: string; size: string }>(sizedSql('m.oid::text AS oid', page.where), [...page.params]),
  );
  const sizes = new Map(onSource.rows.map((r) => [r.oid, Number(r.size)]));
  const onTarget = new Set(list.map((o) => o.oid));
  const gone = [...migrated].filter((oid) => !onTarget.has(oid) && sizes.has(oid));
  const forgotten = [...migrated].filter((oid) => !onTarget.has(oid));
  // on both sides, never recorded: the same object is adopted, another stops the carry-back
  const unrecorded = list.filter((o) => !migrated.has(o.oid) && !own.has(o.oid) && sizes.has(o.oid));
  const differing = await changedContent(
    target,
    source,
    unrecorded.filter((o) => sizes.get(o.oid) === o.size).map((o) => o.oid),
  );
  const foreign = unrecorded.find((o) => sizes.get(o.oid) !== o.size || differing.has(o.oid));
  if (foreign) {
    throw new PgshiftError(
      'LARGE_OBJECT_EXISTS',
      `large_objects: the source has large object ${foreign.oid}, which pgshift did not migrate, and the target has another with the same OID: the rollback does not replace it`,
      {
        hint: `Check which one the application needs; keep it (copy the other under a new OID), remove the one it does not (SELECT lo_unlink(${foreign.oid}) on that side), then run \`pgshift rollback\` again.`,
      },
    );
  }
  if (unrecorded.length > 0) {
    await withTransaction(
      target,
      async () => {
        const adopted = [];
        for (const o of unrecorded) adopted.push({ oid: o.oid, ...(await md5Of(target, o.oid, limits.chunk)) });
        await recordSyncedLargeObjects(target, opts.runId, adopted);
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ',
    );
  }
  if (gone.length > 0 || forgotten.length > 0) {
    await withTransaction(source, async () => {
      for (const oid of gone) await source.query('SELECT pg_catalog.lo_unlink($1::oid)', [oid]);
    });
    // a kill between the two commits leaves records of objects neither side has: forgotten by the next carry-back
    await withTransaction(target, async () => {
      await forgetLargeObjects(target, forgotten);
      await recountLargeObjects(target);
    });
  }
  const changed = opts.compareContent
    ? await changedContent(
        target,
        source,
        list.filter((o) => migrated.has(o.oid) && sizes.get(o.oid) === o.size).map((o) => o.oid),
      )
    : new Set<string>();
  let todo = await withRoles(
    target,
    list.filter(
      (o) =>
        !own.has(o.oid) &&
        (!sizes.has(o.oid) || (migrated.has(o.oid) && (sizes.get(o.oid) !== o.size || changed.has(o.oid)))),
    ),
  );
  let moved = 0;
  let n = 0;
  while (todo.length > 0) {
    opts.checkDeadline?.();
    const batch = batchOf(todo, limits);
    todo = todo.slice(batch.length);
    // read in one snapshot of the target, written in one transaction of the source; the records commit on the
    // target right after the source's commit (a kill between them: the next carry-back adopts what it finds)
    const done = await withTransaction(
      target,
      async () => {
        const present = await target.query<{ oid: string }>(
          'SELECT m.oid::text AS oid FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = ANY ($1::oid[])',
          [batch.map((o) => o.oid)],
        );
        const here = new Set(present.rows.map((x) => x.oid));
        // unlinked on the target since the page was listed: left for the next carry-back
        const still = batch.filter((o) => here.has(o.oid));
        const d = await withTransaction(source, async () => {
          // pgshift's earlier copy of a changed object goes first; it keeps the owner and grants it has on the
          // source (the target's, mapped back, may name pgshift's own role under roles.owners: connecting)
          const again = await withRoles(
            source,
            still.filter((o) => sizes.has(o.oid)),
          );
          for (const o of again) await source.query('SELECT pg_catalog.lo_unlink($1::oid)', [o.oid]);
          const copied = await copyContent(target, source, still, limits.chunk);
          const kept = new Set(again.map((o) => o.oid));
          const roles = [
            rolesSql(
              still.filter((o) => !kept.has(o.oid)),
              opts.roles,
            ),
            rolesSql(again, sameRoles(again)),
          ]
            .filter(Boolean)
            .join(';\n');
          if (roles) await source.query(roles);
          return copied;
        });
        await recordSyncedLargeObjects(target, opts.runId, d);
        return d;
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ',
    );
    moved += done.reduce((sum, o) => sum + o.bytes, 0);
    n += done.length;
  }
  return { copied: n, bytes: moved, unlinked: gone.length };
}
