/**
 * Large objects compared by OID: how many on each side, and for each OID its size and a digest each server computes
 * itself (md5 over the md5s of its 1 MiB chunks, lo_get in chunks: no content crosses the wire, no object is held
 * whole in the server's memory). Both sides are read in OID order, a page at a time, and merged.
 */
import type pg from 'pg';

export interface LargeObjectDifference {
  /** The OID (not a value: a large object's name). */
  readonly oid: string;
  /** `missing` on the target, `extra` on the target (one pgshift created), or `changed` (size or content). */
  readonly kind: 'missing' | 'extra' | 'changed';
}

export interface LargeObjectsResult {
  readonly source: number;
  /** Objects on the target that the comparison counts: those with a source OID, and pgshift's own. */
  readonly target: number;
  readonly checksum: 'match' | 'mismatch';
  readonly differences: readonly LargeObjectDifference[];
  /** More differences than listed. */
  readonly truncated: boolean;
  /** All differences, listed or not. */
  readonly differing: number;
}

const PAGE = 1000;
const CHUNK = 1024 * 1024;
const LISTED = 100;

interface Digest {
  readonly oid: number;
  readonly size: string;
  readonly digest: string;
  /** On the target: recorded in pgshift.large_objects. */
  readonly ours: boolean;
}

/** Size and digest of the objects of pg_largeobject_metadata `m` where `where`, in OID order. */
function digestsSql(ours: string, where: string): string {
  return `SELECT m.oid::text AS oid, s.size::text AS size, ${ours} AS ours,
                 -- GREATEST is syntax, not a function of pg_catalog
                 (SELECT pg_catalog.md5(pg_catalog.string_agg(pg_catalog.md5(pg_catalog.lo_get(m.oid, o, ${CHUNK})), '' ORDER BY o))
                    FROM pg_catalog.generate_series(0::int8, GREATEST(s.size - 1, 0), ${CHUNK}::int8) o) AS digest
            FROM pg_catalog.pg_largeobject_metadata m
           CROSS JOIN LATERAL (SELECT pg_catalog.lo_lseek64(pg_catalog.lo_open(m.oid, ${0x40000}), 0, 2) AS size) s
           WHERE ${where} ORDER BY m.oid`;
}

function digestSql(ours: string): string {
  return `${digestsSql(ours, 'm.oid > $1::oid')} LIMIT ${PAGE}`;
}

/**
 * Each of `oids`' size and content digest (the comparison's: computed by the server in chunks), in groups of a
 * thousand, each group in its own statement (its descriptors close with it); an OID the client has no object of is
 * left out. Run inside the caller's snapshot when it must agree with one.
 */
export async function largeObjectDigests(
  client: pg.ClientBase,
  oids: readonly string[],
): Promise<Map<string, { size: string; digest: string }>> {
  const out = new Map<string, { size: string; digest: string }>();
  for (let i = 0; i < oids.length; i += PAGE) {
    const r = await client.query<{ oid: string; size: string; digest: string }>(
      digestsSql('false', 'm.oid = ANY ($1::oid[])'),
      [oids.slice(i, i + PAGE)],
    );
    for (const x of r.rows) out.set(x.oid, { size: x.size, digest: x.digest });
  }
  return out;
}

/** A side read page by page in OID order. */
class Side {
  private buffer: Digest[] = [];
  private last = '0';
  private end = false;
  constructor(
    private readonly client: pg.ClientBase,
    private readonly sql: string,
  ) {}
  async peek(): Promise<Digest | undefined> {
    if (this.buffer.length === 0 && !this.end) {
      const r = await this.client.query<{ oid: string; size: string; digest: string; ours: boolean }>(this.sql, [
        this.last,
      ]);
      this.buffer = r.rows.map((x) => ({ oid: Number(x.oid), size: x.size, digest: x.digest, ours: x.ours }));
      if (r.rows.length < PAGE) this.end = true;
      const tail = r.rows.at(-1);
      if (tail) this.last = tail.oid;
    }
    return this.buffer[0];
  }
  shift(): void {
    this.buffer.shift();
  }
}

async function hasAny(client: pg.ClientBase): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_largeobject_metadata) AS ok',
  );
  return r.rows[0]?.ok === true;
}

/**
 * Compares the large objects of both sides; undefined when neither side has one. A target object whose OID the
 * source does not have is counted only when pgshift created it (objects that were on the target before are not
 * pgshift's to compare).
 */
export async function compareLargeObjects(
  source: pg.ClientBase,
  target: pg.ClientBase,
): Promise<LargeObjectsResult | undefined> {
  if (!(await hasAny(source)) && !(await hasAny(target))) return undefined;
  const state = await target.query<{ ok: boolean }>(
    `SELECT pg_catalog.to_regclass('pgshift.large_objects') IS NOT NULL AS ok`,
  );
  const ours =
    state.rows[0]?.ok === true ? 'EXISTS (SELECT 1 FROM pgshift.large_objects p WHERE p.oid = m.oid)' : 'false';
  const s = new Side(source, digestSql('false'));
  const t = new Side(target, digestSql(ours));
  const differences: LargeObjectDifference[] = [];
  let differing = 0;
  let onSource = 0;
  let onTarget = 0;
  const differ = (oid: number, kind: LargeObjectDifference['kind']): void => {
    differing++;
    if (differences.length < LISTED) differences.push({ oid: String(oid), kind });
  };
  for (;;) {
    const a = await s.peek();
    const b = await t.peek();
    if (!a && !b) break;
    if (a && (!b || a.oid < b.oid)) {
      onSource++;
      differ(a.oid, 'missing');
      s.shift();
    } else if (b && (!a || b.oid < a.oid)) {
      if (b.ours) {
        onTarget++;
        differ(b.oid, 'extra');
      }
      t.shift();
    } else if (a && b) {
      onSource++;
      onTarget++;
      if (a.size !== b.size || a.digest !== b.digest) differ(a.oid, 'changed');
      s.shift();
      t.shift();
    }
  }
  return {
    source: onSource,
    target: onTarget,
    checksum: differing === 0 ? 'match' : 'mismatch',
    differences,
    truncated: differing > differences.length,
    differing,
  };
}
