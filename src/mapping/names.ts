import { address } from '../catalog/address.js';
import type { NameMapper } from '../catalog/kinds/kind.js';
import { kindModule, render, type KindSpec } from '../catalog/kinds/registry.js';
import type { Catalog, CatalogObject, ColumnInfo, TableInfo } from '../catalog/types.js';
import type { Finding } from '../errors/finding.js';
import { rewriteSchemaRefs, type Rewrite, type SchemaRule } from './rewrite.js';

/**
 * Name mapping: how the source's names read on the target. schemas.map renames schemas; an extension that lives in
 * another schema on the target takes the names it owns with it (src/mapping/extensions.ts says where). Objects are
 * mapped through their kind's module (src/catalog/kinds/), which edits typed fields; SQL is rendered from them
 * afterwards. Only expressions the server printed (defaults, view queries, routine bodies) go through the rewriter.
 */
export interface NameMapping {
  /** source schema -> target schema, for the schemas the source has */
  readonly schemaMap: ReadonlyMap<string, string>;
  readonly sourceSchemas: ReadonlySet<string>;
  mapSchema(schema: string): string;
  /** A catalog address as it reads on the target. */
  mapAddress(addr: string): string;
  /** The object on the target and the rewrites made in the statements that create it (for its reason line). */
  mapObject(o: CatalogObject): { readonly object: CatalogObject; readonly rewrites: readonly Rewrite[] };
  mapTable(t: TableInfo): TableInfo;
}

export interface NameInput {
  readonly source: Catalog;
  /** schemas.map as configured */
  readonly schemas: Readonly<Record<string, string>>;
  /** `schema\0name` of an extension's member -> the extension's schema on the target */
  readonly moved: ReadonlyMap<string, string>;
}

function mapper(
  rule: SchemaRule,
  mapSchema: (s: string) => string,
  sink: Rewrite[] | null,
  quiet: () => NameMapper,
): NameMapper {
  return {
    schema: mapSchema,
    ref(schema, name) {
      const to = rule(schema, name);
      if (to === null || to === schema) return schema;
      sink?.push({ from: `${schema}.${name}`, to: `${to}.${name}` });
      return to;
    },
    schemaName(schema) {
      const to = rule(schema, null);
      if (to === null || to === schema) return schema;
      sink?.push({ from: schema, to });
      return to;
    },
    expr(text) {
      const r = rewriteSchemaRefs(text, rule);
      sink?.push(...r.rewrites);
      return r.sql;
    },
    get quiet() {
      return quiet();
    },
  };
}

export function nameMapping(input: NameInput): NameMapping {
  const { source, moved } = input;
  const sourceSchemas = new Set(source.objects.filter((o) => o.kind === 'schema').map((o) => o.name));
  for (const o of source.objects) if (o.schema) sourceSchemas.add(o.schema);
  const schemaMap = new Map(Object.entries(input.schemas).filter(([from]) => sourceSchemas.has(from)));
  const mapSchema = (s: string): string => schemaMap.get(s) ?? s;

  // names the source has in each schema: a.b is a reference into schema a only when b is one of them
  const namesIn = new Map<string, Set<string>>();
  const addName = (schema: string, name: string): void => {
    let set = namesIn.get(schema);
    if (!set) namesIn.set(schema, (set = new Set()));
    set.add(name);
  };
  for (const o of source.objects) {
    if (o.schema && o.kind !== 'extension') addName(o.schema, o.name);
    // and the names its statement creates besides (a multirange, an identity sequence): they move with it
    const owned = kindModule(o.kind).owns?.({ schema: o.schema, name: o.name, table: o.table, spec: o.spec }) ?? [];
    for (const q of owned) addName(q.schema, q.name);
  }
  for (const t of source.tables) addName(t.schema, t.name);

  const rule: SchemaRule = (schema, name) => {
    if (name !== null) {
      const ext = moved.get(`${schema}\u0000${name}`);
      if (ext !== undefined) return ext;
    }
    const to = schemaMap.get(schema);
    if (to !== undefined && (name === null || namesIn.get(schema)?.has(name) === true)) return to;
    return null;
  };
  const rewriting = moved.size > 0 || schemaMap.size > 0;
  const quiet: NameMapper = mapper(rule, mapSchema, null, () => quiet);
  const expr = (text: string): string => (rewriting ? quiet.expr(text) : text);

  // addresses: `<kind> <schema>.<rest>`, `schema <name>`, `comment <address>`, `function s.f(<types>)`
  const schemasLongestFirst = [...sourceSchemas].sort((a, b) => b.length - a.length);
  const mapAddress = (addr: string): string => {
    const space = addr.indexOf(' ');
    if (space < 0) return addr;
    const kind = addr.slice(0, space);
    const rest = addr.slice(space + 1);
    if (kind === 'comment') return `comment ${mapAddress(rest)}`;
    if (kind === 'extension') return addr;
    if (kind === 'schema') return `schema ${mapSchema(rest)}`;
    const schema = schemasLongestFirst.find((s) => rest.startsWith(`${s}.`));
    if (schema === undefined) return addr;
    let tail = rest.slice(schema.length);
    const paren = tail.indexOf('(');
    // a routine's address ends with its argument types, as format_type printed them
    if (kind === 'function' && paren >= 0) tail = tail.slice(0, paren) + expr(tail.slice(paren));
    return `${kind} ${mapSchema(schema)}${tail}`;
  };

  const mapObject = (o: CatalogObject): { object: CatalogObject; rewrites: Rewrite[] } => {
    if (!rewriting) return { object: o, rewrites: [] };
    const rewrites: Rewrite[] = [];
    const place = { address: mapAddress(o.address), dependsOn: o.dependsOn.map(mapAddress) };
    const m = mapper(rule, mapSchema, rewrites, () => quiet);
    const parts = kindModule(o.kind).map({ schema: o.schema, name: o.name, table: o.table, spec: o.spec }, m);
    const typed = { ...parts, kind: o.kind } as KindSpec & typeof parts;
    return { object: { ...o, ...place, ...typed, ...render(typed) }, rewrites };
  };

  const mapColumn = (c: ColumnInfo): ColumnInfo => ({
    ...c,
    type: expr(c.type),
    typeSchema: moved.get(`${c.typeSchema}\u0000${c.typeName}`) ?? mapSchema(c.typeSchema),
    default: c.default === null ? null : expr(c.default),
    generated: c.generated === null ? null : expr(c.generated),
  });
  const mapTable = (t: TableInfo): TableInfo => {
    const schema = mapSchema(t.schema);
    const parent = t.parent ? { schema: mapSchema(t.parent.schema), name: t.parent.name } : null;
    return { ...t, schema, address: address.table(schema, t.name), parent, columns: t.columns.map(mapColumn) };
  };

  return { schemaMap, sourceSchemas, mapSchema, mapAddress, mapObject, mapTable };
}

/** A mapped schema must not land on another source schema. */
export function collisionFindings(names: NameMapping): Finding[] {
  return [...names.schemaMap]
    .filter(([, to]) => names.sourceSchemas.has(to))
    .map(([from, to]) => ({
      code: 'SCHEMA_MAP_COLLISION',
      severity: 'blocker',
      address: address.schema(from),
      message: `schemas.map sends "${from}" to "${to}", which the source also has`,
      hint: `Map "${from}" to a schema name the source does not use.`,
    }));
}
