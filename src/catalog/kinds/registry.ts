/**
 * Every object kind of the catalog, one line each: its module renders the object's create, its drop and its
 * definition from typed fields and maps its names for the target. Adding a kind: write its module (with a test)
 * and add its line here; ObjectKind and ObjectSpec follow from this table.
 */
import { collationKind } from './collation.js';
import { commentKind } from './comment.js';
import { constraintKind } from './constraint.js';
import { extensionKind } from './extension.js';
import { functionKind } from './function.js';
import { grantKind } from './grant.js';
import { indexKind } from './index.js';
import type { KindModule, ObjectParts } from './kind.js';
import { ownerKind } from './owner.js';
import { policyKind } from './policy.js';
import { rlsKind } from './rls.js';
import { roleKind } from './role.js';
import { schemaKind } from './schema.js';
import { sequenceOwnerKind } from './sequence-owner.js';
import { sequenceValueKind } from './sequence-value.js';
import { sequenceKind } from './sequence.js';
import { tableKind } from './table.js';
import { triggerKind } from './trigger.js';
import { typeKind } from './type.js';
import { materializedViewKind, viewKind } from './view.js';

export const KINDS = {
  schema: schemaKind,
  extension: extensionKind,
  collation: collationKind, // CREATE COLLATION (libc, icu, builtin; deterministic or not)
  type: typeKind, // enum, domain, composite, range
  function: functionKind, // functions, procedures, aggregates
  sequence: sequenceKind,
  table: tableKind, // ordinary and partitioned tables, partitions, with columns, defaults, NOT NULL, checks
  sequence_owner: sequenceOwnerKind, // ALTER SEQUENCE ... OWNED BY (after the tables)
  constraint: constraintKind, // primary key, unique, exclusion, foreign key, NOT VALID checks (post-data)
  index: indexKind,
  trigger: triggerKind,
  view: viewKind,
  materialized_view: materializedViewKind,
  policy: policyKind,
  rls: rlsKind, // ENABLE / FORCE ROW LEVEL SECURITY of a table
  comment: commentKind,
  sequence_value: sequenceValueKind, // setval() from the source: last_value and is_called
  // planned from the config, never read from a catalog (src/mapping/roles.ts):
  role: roleKind, // a target role of roles.create (NOLOGIN, no password)
  grant: grantKind, // a source privilege given to the role roles.map names
  owner: ownerKind, // ALTER ... OWNER TO the role roles.map names for the source owner (roles.owners: mapped)
} as const;

export type ObjectKind = keyof typeof KINDS;

type SpecOfModule<M> = M extends KindModule<infer S> ? S : never;

/** The typed fields of an object of kind K. */
export type SpecOf<K extends ObjectKind> = SpecOfModule<(typeof KINDS)[K]>;

/** A kind and its typed fields, checked together. */
export type KindSpec = { [K in ObjectKind]: { readonly kind: K; readonly spec: SpecOf<K> } }[ObjectKind];

/** The module of a kind, for code that holds a kind and its spec as a pair it checked (KindSpec). */
export function kindModule(kind: ObjectKind): KindModule<unknown> {
  return KINDS[kind] as KindModule<unknown>;
}

/** The statements that create the object and its definition, rendered from its fields. */
export function render(o: KindSpec & Omit<ObjectParts<unknown>, 'spec'>): { createSql: string[]; definition: string } {
  const m = kindModule(o.kind);
  return { createSql: m.create(o), definition: m.definition(o) };
}
