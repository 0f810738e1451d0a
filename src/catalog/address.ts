/**
 * Catalog addresses: `<kind> <schema>.<name>[...]`, names as they are (not quoted), parts separated by dots.
 * One builder per kind so every reader spells them the same way.
 */
export const address = {
  schema: (name: string): string => `schema ${name}`,
  extension: (name: string): string => `extension ${name}`,
  type: (schema: string, name: string): string => `type ${schema}.${name}`,
  collation: (schema: string, name: string): string => `collation ${schema}.${name}`,
  /** `args`: the identity argument types, e.g. `integer, integer`, so that overloads differ. */
  function: (schema: string, name: string, args: string): string => `function ${schema}.${name}(${args})`,
  sequence: (schema: string, name: string): string => `sequence ${schema}.${name}`,
  table: (schema: string, name: string): string => `table ${schema}.${name}`,
  view: (schema: string, name: string): string => `view ${schema}.${name}`,
  materializedView: (schema: string, name: string): string => `materialized_view ${schema}.${name}`,
  index: (schema: string, name: string): string => `index ${schema}.${name}`,
  constraint: (schema: string, table: string, name: string): string => `constraint ${schema}.${table}.${name}`,
  trigger: (schema: string, table: string, name: string): string => `trigger ${schema}.${table}.${name}`,
  policy: (schema: string, table: string, name: string): string => `policy ${schema}.${table}.${name}`,
  rls: (schema: string, table: string): string => `rls ${schema}.${table}`,
  sequenceOwner: (schema: string, name: string): string => `sequence_owner ${schema}.${name}`,
  sequenceValue: (schema: string, name: string): string => `sequence_value ${schema}.${name}`,
  /** `comment <kind> <schema>.<name>[.<column>]`: `target` is the commented object's address (or `column s.t.c`). */
  comment: (target: string): string => `comment ${target}`,
  column: (schema: string, relation: string, column: string): string => `column ${schema}.${relation}.${column}`,
} as const;
