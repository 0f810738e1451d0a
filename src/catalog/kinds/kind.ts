/**
 * What every object kind's module provides (Atlas's Cmd and Reverse): the statements that create the object and the
 * ones that drop it, its canonical definition, and how its names follow a schema mapping. All of them read the
 * object's typed fields (`spec`); SQL text is rendered from them last, never parsed back.
 */

export type Phase = 'pre-data' | 'post-data';

export interface QName {
  readonly schema: string;
  readonly name: string;
}

/** The fields of a catalog object a kind's module renders from (the object itself, or a draft of it). */
export interface ObjectParts<S> {
  readonly schema: string | null;
  readonly name: string;
  /** For objects that belong to a table (constraint, index, trigger, policy, rls, comment on column...). */
  readonly table: QName | null;
  readonly spec: S;
}

/**
 * How names change when the source lands on the target (schemas.map, extensions in another schema). Every method
 * that takes a reference records the rewrite it makes, for the action's reason line; `quiet` does the same without
 * recording (for parts that are compared but not run, such as a definition's canonical text).
 */
export interface NameMapper {
  /** The object's own schema (or the schema of the table it hangs off): schemas.map, not recorded. */
  schema(schema: string): string;
  /** The new schema of a reference `schema.name` (a function, type, table...); recorded. */
  ref(schema: string, name: string): string;
  /** The new name of a schema named on its own (`CREATE SCHEMA x`, `COMMENT ON SCHEMA x`); recorded. */
  schemaName(schema: string): string;
  /** An expression or statement the server printed (a default, a view's query, a function body); recorded. */
  expr(text: string): string;
  readonly quiet: NameMapper;
}

export interface KindModule<S> {
  readonly phase: Phase;
  /** Statements that create the object, every identifier quoted through src/db/ident.ts. */
  create(o: ObjectParts<S>): string[];
  /** Canonical text compared between source and target (no OIDs, no volatile values, no secrets). */
  definition(o: ObjectParts<S>): string;
  /** Statements that undo the object when pgshift created it (empty: nothing to undo on its own). */
  drop(o: ObjectParts<S>): string[];
  /** The object with its references mapped (own schema and table, then the names in `spec`), in create order. */
  map(o: ObjectParts<S>, m: NameMapper): ObjectParts<S>;
  /**
   * Names the statement that creates the object also creates, spelled in it, that are no catalog object of their own
   * (a range type's multirange, an identity column's sequence). A schema mapping moves them like the object's own
   * name, and so do the references to them (a column typed by the multirange). Absent: none.
   */
  owns?(o: ObjectParts<S>): QName[];
  /**
   * How its create statements lock its table, for the apply's scheduler (src/apply/executor.ts): `shared` (a SHARE
   * lock only, as CREATE INDEX: runs beside the table's other shared builds), `attach` (builds under SHARE, then
   * takes ACCESS EXCLUSIVE for a catalog change: beside shared builds, one at a time). Absent: the table alone.
   */
  lockMode?(o: ObjectParts<S>): LockMode | undefined;
}

/** See KindModule.lockMode. */
export type LockMode = 'shared' | 'attach';

/** The own schema and table through the mapper (not recorded): what most kinds do besides their spec. */
export function mapPlace<S>(o: ObjectParts<S>, m: NameMapper, spec: S = o.spec): ObjectParts<S> {
  return {
    schema: o.schema === null ? null : m.schema(o.schema),
    name: o.name,
    table: o.table ? { schema: m.schema(o.table.schema), name: o.table.name } : null,
    spec,
  };
}

/** A reference through the mapper: `{ schema, name }` with the schema rewritten as `m.ref` says. */
export function mapRef(m: NameMapper, q: QName): QName;
export function mapRef(m: NameMapper, q: QName | null): QName | null;
export function mapRef(m: NameMapper, q: QName | null): QName | null {
  return q ? { schema: m.ref(q.schema, q.name), name: q.name } : null;
}

export function schemaOf(o: { readonly schema: string | null }): string {
  return o.schema ?? '';
}

export function tableOf(o: { readonly table: QName | null }): QName {
  return o.table ?? { schema: '', name: '' };
}
