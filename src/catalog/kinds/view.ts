import { qualified, quoteIdent } from '../../db/ident.js';
import { reloptionsSql } from './options.js';
import { mapPlace, schemaOf, type KindModule, type ObjectParts } from './kind.js';

/** A view or a materialized view (created WITH NO DATA, then refreshed when it was populated on the source). */
export interface ViewSpec {
  readonly reloptions: readonly string[] | null;
  /** pg_get_viewdef(), without its trailing semicolon: what is run */
  readonly query: string;
  /** the query as compared (a pre-16 server's text normalised), when it differs from `query` */
  readonly canonicalQuery: string | null;
  /** materialized views only */
  readonly populated: boolean;
  /** roles whose privileges the statement that creates it revokes (security.rls: enable on an exposed schema) */
  readonly revokeFrom: readonly string[];
}

function head(o: ObjectParts<ViewSpec>, materialized: boolean): string {
  return `CREATE ${materialized ? 'MATERIALIZED VIEW' : 'VIEW'} ${qualified(schemaOf(o), o.name)}${reloptionsSql(o.spec.reloptions)} AS\n`;
}

function viewModule(materialized: boolean): KindModule<ViewSpec> {
  const keyword = materialized ? 'MATERIALIZED VIEW' : 'VIEW';
  return {
    phase: 'post-data',
    create: (o) => {
      const q = qualified(schemaOf(o), o.name);
      const sql = [head(o, materialized) + o.spec.query + (materialized ? '\n WITH NO DATA' : '')];
      if (materialized && o.spec.populated) sql.push(`REFRESH MATERIALIZED VIEW ${q}`);
      if (o.spec.revokeFrom.length > 0)
        sql.push(`REVOKE ALL ON TABLE ${q} FROM ${o.spec.revokeFrom.map(quoteIdent).join(', ')}`);
      return sql;
    },
    definition: (o) => {
      const text =
        head(o, materialized) + (o.spec.canonicalQuery ?? o.spec.query) + (materialized ? '\n WITH NO DATA' : '');
      return materialized ? `${text}\npopulated=${o.spec.populated}` : text;
    },
    drop: (o) => [`DROP ${keyword} IF EXISTS ${qualified(schemaOf(o), o.name)}`],
    map: (o, m) => {
      if (o.schema !== null) m.ref(o.schema, o.name);
      const query = m.expr(o.spec.query);
      const canonicalQuery = o.spec.canonicalQuery === null ? null : m.quiet.expr(o.spec.canonicalQuery);
      return mapPlace(o, m, { ...o.spec, query, canonicalQuery });
    },
  };
}

export const viewKind: KindModule<ViewSpec> = viewModule(false);
export const materializedViewKind: KindModule<ViewSpec> = viewModule(true);
