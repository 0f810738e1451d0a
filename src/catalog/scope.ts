import type { Catalog, CatalogObject, TableInfo } from './types.js';
import type { Config } from '../config/types.js';

/** `*` matches anything (as in tables.include/exclude); everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  );
}

interface Pattern {
  readonly schema: RegExp;
  readonly table: RegExp;
}

function compile(patterns: readonly string[]): Pattern[] {
  return patterns.map((p) => {
    const dot = p.indexOf('.');
    return { schema: globToRegExp(p.slice(0, dot)), table: globToRegExp(p.slice(dot + 1)) };
  });
}

/** Which source objects a config puts in scope. Partitions follow their root table. */
export class Scope {
  private readonly include: Pattern[];
  private readonly exclude: Pattern[];
  private readonly tables = new Map<string, TableInfo>();
  private readonly schemas = new Set<string>();
  /** target schema -> source schema (schemas.map reversed): patterns name the source's schemas */
  private readonly sourceSchema: ReadonlyMap<string, string>;

  constructor(config: Config, source: Catalog) {
    this.sourceSchema = new Map(Object.entries(config.schemas.map).map(([from, to]) => [to, from]));
    this.include = compile(config.tables.include);
    this.exclude = compile(config.tables.exclude);
    for (const t of source.tables) this.tables.set(`${t.schema}.${t.name}`, t);
    for (const t of source.tables) if (this.tableInScope(t.schema, t.name)) this.schemas.add(t.schema);
    // schemas named by an include pattern count even when they hold no table (types, functions, views)
    for (const o of source.objects) {
      if (o.kind === 'schema' && this.include.some((p) => p.schema.test(this.sourceSchema.get(o.name) ?? o.name)))
        this.schemas.add(o.name);
    }
  }

  private root(schema: string, name: string): { schema: string; name: string } {
    let cur = { schema, name };
    for (let i = 0; i < 100; i++) {
      const parent = this.tables.get(`${cur.schema}.${cur.name}`)?.parent;
      if (!parent) break;
      cur = parent;
    }
    return cur;
  }

  tableInScope(schema: string, name: string): boolean {
    const r = this.root(schema, name);
    const sourceSchema = this.sourceSchema.get(r.schema) ?? r.schema;
    const match = (p: Pattern): boolean => p.schema.test(sourceSchema) && p.table.test(r.name);
    return this.include.some(match) && !this.exclude.some(match);
  }

  schemaInScope(schema: string): boolean {
    return this.schemas.has(schema);
  }

  objectInScope(o: CatalogObject): boolean {
    if (o.kind === 'extension') return true;
    if (o.table) return this.tableInScope(o.table.schema, o.table.name);
    if (o.kind === 'table' && o.schema) return this.tableInScope(o.schema, o.name);
    if (o.kind === 'schema') return this.schemaInScope(o.name);
    return o.schema === null || this.schemaInScope(o.schema);
  }
}
