/**
 * The large objects of a database (pg_largeobject_metadata), read in ONE query without reading their pages: how
 * many, the highest OID, pg_largeobject's size (an estimate of their bytes), their owners and grantees, and how
 * many the connecting role cannot read (lo_get needs SELECT on the object, or ownership, or superuser).
 */
import type pg from 'pg';

export interface LargeObjectSummary {
  readonly count: number;
  /** The highest OID (decimal), null when there is none. */
  readonly maxOid: string | null;
  /** pg_largeobject's relation size: an estimate (dead space included, no page read). */
  readonly estimatedBytes: number;
  /** Owners (role names) and how many objects each owns, by name. */
  readonly owners: ReadonlyArray<{ readonly role: string; readonly objects: number }>;
  /** Roles other than the owner granted a privilege on some object ('' for PUBLIC), by name. */
  readonly grantees: ReadonlyArray<{ readonly role: string; readonly objects: number }>;
  /** Objects the connecting role cannot read, and the lowest OID among them. */
  readonly unreadable: number;
  readonly firstUnreadable: string | null;
}

export const NO_LARGE_OBJECTS: LargeObjectSummary = {
  count: 0,
  maxOid: null,
  estimatedBytes: 0,
  owners: [],
  grantees: [],
  unreadable: 0,
  firstUnreadable: null,
};

/**
 * Whether the connecting role may read large object `m` (its ACL, or the owner's default one when it has none;
 * superusers and lo_compat_privileges read everything). SQL over `pg_largeobject_metadata m`.
 */
export const READABLE_SQL = `(pg_catalog.current_setting('lo_compat_privileges')::bool
    OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
    OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(coalesce(m.lomacl, pg_catalog.acldefault('L', m.lomowner))) a
                WHERE a.privilege_type = 'SELECT' AND (a.grantee = 0 OR pg_catalog.pg_has_role(a.grantee, 'USAGE'))))`;

export async function readLargeObjectSummary(client: pg.ClientBase): Promise<LargeObjectSummary> {
  const r = await client.query<{
    n: string;
    max_oid: string | null;
    bytes: string;
    owners: Array<{ role: string; objects: number }> | null;
    grantees: Array<{ role: string; objects: number }> | null;
    unreadable: string;
    first_unreadable: string | null;
  }>(
    `WITH m AS (SELECT m.oid, m.lomowner, m.lomacl, ${READABLE_SQL} AS readable
                  FROM pg_catalog.pg_largeobject_metadata m)
     SELECT (SELECT count(*) FROM m)::text AS n,
            (SELECT max(m.oid) FROM m)::text AS max_oid,
            pg_catalog.pg_relation_size('pg_catalog.pg_largeobject')::text AS bytes,
            (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('role', o.role, 'objects', o.n) ORDER BY o.role COLLATE "C")
               FROM (SELECT pg_catalog.pg_get_userbyid(m.lomowner)::text AS role, count(*) AS n FROM m GROUP BY 1) o) AS owners,
            (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('role', g.role, 'objects', g.n) ORDER BY g.role COLLATE "C")
               FROM (SELECT CASE WHEN a.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END AS role,
                            count(DISTINCT m.oid) AS n
                       FROM m, pg_catalog.aclexplode(m.lomacl) a WHERE a.grantee <> m.lomowner GROUP BY 1) g) AS grantees,
            (SELECT count(*) FROM m WHERE NOT m.readable)::text AS unreadable,
            (SELECT min(m.oid) FROM m WHERE NOT m.readable)::text AS first_unreadable`,
  );
  const x = r.rows[0];
  if (!x) return NO_LARGE_OBJECTS;
  return {
    count: Number(x.n),
    maxOid: x.max_oid,
    estimatedBytes: Number(x.bytes),
    owners: x.owners ?? [],
    grantees: x.grantees ?? [],
    unreadable: Number(x.unreadable),
    firstUnreadable: x.first_unreadable,
  };
}
