import { qualified, quoteIdent, quoteLiteral } from '../../db/ident.js';
import { mapPlace, mapRef, schemaOf, type KindModule, type ObjectParts, type QName } from './kind.js';

/** Enums, domains (constraints, NOT NULL, default, collation), composite and range types. */
export type TypeSpec =
  | { readonly variant: 'enum'; readonly labels: readonly string[] }
  | {
      readonly variant: 'domain';
      /** format_type() of the base type */
      readonly baseType: string;
      readonly collation: QName | null;
      readonly default: string | null;
      readonly notNull: boolean;
      readonly checks: readonly { readonly name: string; readonly def: string; readonly validated: boolean }[];
    }
  | {
      readonly variant: 'composite';
      readonly attributes: readonly {
        readonly name: string;
        readonly type: string;
        readonly collation: QName | null;
      }[];
    }
  | {
      readonly variant: 'range';
      readonly subtype: string;
      readonly opclass: QName | null;
      readonly collation: QName | null;
      readonly canonical: QName | null;
      readonly subdiff: QName | null;
      readonly multirange: QName | null;
    };

const collate = (c: QName | null): string => (c ? ` COLLATE ${qualified(c.schema, c.name)}` : '');

function create(o: ObjectParts<TypeSpec>): string[] {
  const q = qualified(schemaOf(o), o.name);
  const t = o.spec;
  switch (t.variant) {
    case 'enum':
      return [`CREATE TYPE ${q} AS ENUM (${t.labels.map(quoteLiteral).join(', ')})`];
    case 'domain': {
      let s = `CREATE DOMAIN ${q} AS ${t.baseType}${collate(t.collation)}`;
      if (t.default !== null) s += ` DEFAULT ${t.default}`;
      if (t.notNull) s += ' NOT NULL';
      for (const c of t.checks) if (c.validated) s += ` CONSTRAINT ${quoteIdent(c.name)} ${c.def}`;
      return [
        s,
        ...t.checks
          .filter((c) => !c.validated)
          .map((c) => `ALTER DOMAIN ${q} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`),
      ];
    }
    case 'composite':
      return [
        `CREATE TYPE ${q} AS (${t.attributes.map((a) => `${quoteIdent(a.name)} ${a.type}${collate(a.collation)}`).join(', ')})`,
      ];
    case 'range': {
      const opts = [`SUBTYPE = ${t.subtype}`];
      const name = (label: string, n: QName | null): void => {
        if (n) opts.push(`${label} = ${qualified(n.schema, n.name)}`);
      };
      name('SUBTYPE_OPCLASS', t.opclass);
      name('COLLATION', t.collation);
      name('CANONICAL', t.canonical);
      name('SUBTYPE_DIFF', t.subdiff);
      name('MULTIRANGE_TYPE_NAME', t.multirange);
      return [`CREATE TYPE ${q} AS RANGE (${opts.join(', ')})`];
    }
  }
}

function mapSpec(t: TypeSpec, m: Parameters<KindModule<TypeSpec>['map']>[1]): TypeSpec {
  switch (t.variant) {
    case 'enum':
      return t;
    case 'domain': {
      const baseType = m.expr(t.baseType);
      const collation = mapRef(m, t.collation);
      const dflt = t.default === null ? null : m.expr(t.default);
      const checks = t.checks.map((c) => ({ ...c, def: m.expr(c.def) }));
      return { ...t, baseType, collation, default: dflt, checks };
    }
    case 'composite':
      return {
        ...t,
        attributes: t.attributes.map((a) => ({
          name: a.name,
          type: m.expr(a.type),
          collation: mapRef(m, a.collation),
        })),
      };
    case 'range': {
      const subtype = m.expr(t.subtype);
      const opclass = mapRef(m, t.opclass);
      const collation = mapRef(m, t.collation);
      const canonical = mapRef(m, t.canonical);
      const subdiff = mapRef(m, t.subdiff);
      return { ...t, subtype, opclass, collation, canonical, subdiff, multirange: mapRef(m, t.multirange) };
    }
  }
}

export const typeKind: KindModule<TypeSpec> = {
  phase: 'pre-data',
  create,
  definition: (o) => create(o).join(';\n'),
  drop: (o) => [`DROP TYPE IF EXISTS ${qualified(schemaOf(o), o.name)}`],
  map: (o, m) => {
    if (o.schema !== null) m.ref(o.schema, o.name);
    return mapPlace(o, m, mapSpec(o.spec, m));
  },
  owns: (o) => (o.spec.variant === 'range' && o.spec.multirange ? [o.spec.multirange] : []),
};
