/**
 * The catalog: a frozen, typed picture of one database's schema, read through the server's own deparse functions
 * (pg_get_*def, pg_get_expr, format_type) so that definitions round-trip across majors.
 *
 * Every schema object is a CatalogObject with an address and its kind's typed fields (`spec`). Plans compare source
 * and target objects by address and by `definition`; `createSql` is what apply runs to create the object on the
 * target. Both are rendered from `spec` by the kind's module (src/catalog/kinds/), never parsed back. Objects that belong to an
 * extension are not listed (they are the extension's business).
 */

import type { ObjectKind, SpecOf } from './kinds/registry.js';
import type { Phase } from './kinds/kind.js';

export type { ObjectKind, SpecOf } from './kinds/registry.js';
export type { Phase } from './kinds/kind.js';

/** The typed fields of some kind (see CatalogObject.spec and specOf). */
export type ObjectSpec = SpecOf<ObjectKind>;

export interface CatalogObject {
  readonly kind: ObjectKind;
  /**
   * Unique within a catalog and equal for the same object on source and target, e.g.
   * `schema app`, `table public.patients`, `index public.patients_email_idx`,
   * `constraint public.patients.patients_pkey`, `trigger public.patients.audit`, `comment table public.patients`.
   * Names appear as they are (not quoted) so addresses read well; the parts are separated by dots.
   */
  readonly address: string;
  readonly schema: string | null;
  readonly name: string;
  /** For objects that belong to a table (constraint, index, trigger, policy, rls, comment on column...): schema.table */
  readonly table: { readonly schema: string; readonly name: string } | null;
  readonly phase: Phase;
  /** The kind's typed fields (src/catalog/kinds/<kind>.ts), which createSql and definition are rendered from. */
  readonly spec: ObjectSpec;
  /** Statements that create the object, rendered from `spec` by the kind's module (src/catalog/kinds/registry.ts). */
  readonly createSql: readonly string[];
  /** Canonical text compared between source and target (no OIDs, no volatile values, no secrets). */
  readonly definition: string;
  /** Addresses of objects that must exist first (only addresses present in the same catalog). */
  readonly dependsOn: readonly string[];
  /** Recorded now, mapped in a later issue. */
  readonly owner: string | null;
  /** Privileges as the ACL gives them (aclexplode), one item per grantee; null: the default privileges. */
  readonly acl: readonly AclItem[] | null;
}

/** Privileges one grantee holds on an object. */
export interface AclItem {
  /** '' for PUBLIC */
  readonly grantee: string;
  /** SELECT, INSERT, EXECUTE, USAGE, CREATE... (grant options not told apart) */
  readonly privileges: readonly string[];
}

export interface ColumnInfo {
  readonly name: string;
  readonly attnum: number;
  /** format_type() output, e.g. `integer`, `character varying(20)`, `public.mpaa_rating`. */
  readonly type: string;
  /** pg_type oid's name and schema, for copy-format decisions. */
  readonly typeName: string;
  readonly typeSchema: string;
  /** The type's binary send function when it lives in pg_catalog (a built-in type), else null. */
  readonly sendFunction?: string | null;
  /** pg_type.typtype: b base, e enum, d domain, c composite, r range, m multirange, p pseudo. */
  readonly typeKind?: string;
  /** A domain's base type, `schema.name` (the type it is built on, one level down). */
  readonly baseType?: string;
  readonly notNull: boolean;
  readonly default: string | null;
  readonly identity: 'always' | 'by default' | null;
  readonly generated: string | null; // stored generated expression
  readonly collation: string | null;
}

export interface TableInfo {
  readonly schema: string;
  readonly name: string;
  readonly address: string; // `table schema.name`
  readonly kind: 'table' | 'partitioned' | 'partition';
  readonly parent: { readonly schema: string; readonly name: string } | null;
  readonly columns: readonly ColumnInfo[];
  /** Column names of the primary key, else of a unique NOT NULL key (no partial, no expression), else null. */
  readonly key: readonly string[] | null;
  readonly keyKind: 'primary' | 'unique' | null;
  readonly estimatedRows: number; // reltuples (-1 -> 0)
  readonly estimatedBytes: number; // pg_table_size
  readonly hasTriggers: boolean;
}

/** A name an extension owns in a schema (function, type, relation or operator). */
export interface ExtensionMember {
  readonly extension: string;
  readonly schema: string;
  readonly name: string;
}

export interface Catalog {
  readonly serverVersionNum: number;
  readonly database: string;
  /** sha256 of the sorted (address, definition) pairs: same schema, same fingerprint. */
  readonly fingerprint: string;
  readonly objects: readonly CatalogObject[];
  readonly tables: readonly TableInfo[];
  /** Names the extensions own (not part of the fingerprint: they follow the extension objects). */
  readonly extensionMembers?: readonly ExtensionMember[];
  /** Every role of the server (cluster-wide; not part of the fingerprint), sorted. */
  readonly roles?: readonly string[];
  /** Roles the connecting role may SET ROLE to (and so give objects to), itself included. */
  readonly memberOf?: readonly string[];
  /** Event triggers of the database (not migrated: only a superuser can create them), by name. */
  readonly eventTriggers?: readonly string[];
  /** Objects of the schemas read that pgshift does not create (src/catalog/read/unsupported.ts). */
  readonly unsupported?: readonly UnsupportedObject[];
}

/** An object on the source that pgshift does not create on the target: the plan names it. */
export interface UnsupportedObject {
  readonly kind:
    | 'rule'
    | 'statistics'
    | 'foreign table'
    | 'text search configuration'
    | 'text search dictionary'
    | 'text search parser'
    | 'text search template'
    | 'operator'
    | 'operator class'
    | 'operator family'
    | 'conversion'
    | 'cast';
  readonly schema: string;
  readonly name: string;
  /** The table a rule or extended statistics object belongs to. */
  readonly table: string | null;
}

/** The object's typed fields when it is of kind `kind` (undefined for another kind). */
export function specOf<K extends ObjectKind>(o: Pick<CatalogObject, 'kind' | 'spec'>, kind: K): SpecOf<K> | undefined {
  return o.kind === kind ? (o.spec as SpecOf<K>) : undefined;
}
