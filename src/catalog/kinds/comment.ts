import { qualified, quoteIdent, quoteLiteral } from '../../db/ident.js';
import { mapRef, type KindModule, type NameMapper, type QName } from './kind.js';

/** What COMMENT ON names, as typed fields. */
export type CommentTarget =
  | { readonly on: 'SCHEMA'; readonly name: string }
  | {
      readonly on: 'TABLE' | 'VIEW' | 'MATERIALIZED VIEW' | 'SEQUENCE' | 'INDEX' | 'TYPE' | 'DOMAIN' | 'COLLATION';
      readonly object: QName;
    }
  | { readonly on: 'FUNCTION' | 'PROCEDURE' | 'AGGREGATE'; readonly object: QName; readonly args: string }
  /** a column of a table, view, materialized view or composite type */
  | { readonly on: 'COLUMN'; readonly relation: QName; readonly name: string }
  | {
      readonly on: 'CONSTRAINT' | 'POLICY' | 'TRIGGER';
      readonly name: string;
      readonly relation: QName;
      readonly domain?: boolean;
    };

/** A comment on an object or a column; the object's `name` is the commented object's address. */
export interface CommentSpec {
  readonly target: CommentTarget;
  readonly text: string;
}

export function commentOn(t: CommentTarget): string {
  switch (t.on) {
    case 'SCHEMA':
      return `SCHEMA ${quoteIdent(t.name)}`;
    case 'FUNCTION':
    case 'PROCEDURE':
    case 'AGGREGATE':
      return `${t.on} ${qualified(t.object.schema, t.object.name)}(${t.args})`;
    case 'COLUMN':
      return `COLUMN ${qualified(t.relation.schema, t.relation.name)}.${quoteIdent(t.name)}`;
    case 'CONSTRAINT':
    case 'POLICY':
    case 'TRIGGER':
      return `${t.on} ${quoteIdent(t.name)} ON ${t.domain ? 'DOMAIN ' : ''}${qualified(t.relation.schema, t.relation.name)}`;
    default:
      return `${t.on} ${qualified(t.object.schema, t.object.name)}`;
  }
}

function mapTarget(t: CommentTarget, m: NameMapper): CommentTarget {
  switch (t.on) {
    case 'SCHEMA':
      return { ...t, name: m.schemaName(t.name) };
    case 'FUNCTION':
    case 'PROCEDURE':
    case 'AGGREGATE': {
      const object = mapRef(m, t.object);
      return { ...t, object, args: m.expr(t.args) };
    }
    case 'COLUMN':
    case 'CONSTRAINT':
    case 'POLICY':
    case 'TRIGGER':
      return { ...t, relation: mapRef(m, t.relation) };
    default:
      return { ...t, object: mapRef(m, t.object) };
  }
}

const create = (o: { spec: CommentSpec }): string =>
  `COMMENT ON ${commentOn(o.spec.target)} IS ${quoteLiteral(o.spec.text)}`;

export const commentKind: KindModule<CommentSpec> = {
  phase: 'post-data',
  create: (o) => [create(o)],
  definition: create,
  drop: (o) => [`COMMENT ON ${commentOn(o.spec.target)} IS NULL`],
  map: (o, m) => ({
    schema: o.schema === null ? null : m.schema(o.schema),
    name: o.name,
    table: o.table ? { schema: m.schema(o.table.schema), name: o.table.name } : null,
    spec: { ...o.spec, target: mapTarget(o.spec.target, m) },
  }),
};
