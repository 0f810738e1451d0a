import type { CatalogObject } from '../catalog/types.js';
import { qualified, quoteIdent } from '../db/ident.js';

/** The statements that undo one object pgshift created (empty: nothing to undo on its own). */
export function dropSql(o: CatalogObject): string[] {
  const s = o.schema ?? '';
  const table = o.table ? qualified(o.table.schema, o.table.name) : '';
  switch (o.kind) {
    case 'schema':
      return [`DROP SCHEMA IF EXISTS ${quoteIdent(o.name)}`];
    case 'extension':
      return [`DROP EXTENSION IF EXISTS ${quoteIdent(o.name)}`];
    case 'type':
      return [`DROP TYPE IF EXISTS ${qualified(s, o.name)}`];
    case 'function': {
      // the address carries the identity arguments, rendered by the server (format_type)
      const prefix = `function ${s}.${o.name}(`;
      const args = o.address.startsWith(prefix) ? o.address.slice(prefix.length, -1) : '';
      return [`DROP ROUTINE IF EXISTS ${qualified(s, o.name)}(${args})`];
    }
    case 'sequence':
      return [`DROP SEQUENCE IF EXISTS ${qualified(s, o.name)}`];
    case 'sequence_owner':
      return [`ALTER SEQUENCE IF EXISTS ${qualified(s, o.name)} OWNED BY NONE`];
    case 'table':
      return [`DROP TABLE IF EXISTS ${qualified(s, o.name)}`];
    case 'constraint':
      return [`ALTER TABLE IF EXISTS ${table} DROP CONSTRAINT IF EXISTS ${quoteIdent(o.name)}`];
    case 'index':
      return [`DROP INDEX IF EXISTS ${qualified(s, o.name)}`];
    case 'trigger':
      return [`DROP TRIGGER IF EXISTS ${quoteIdent(o.name)} ON ${table}`];
    case 'view':
      return [`DROP VIEW IF EXISTS ${qualified(s, o.name)}`];
    case 'materialized_view':
      return [`DROP MATERIALIZED VIEW IF EXISTS ${qualified(s, o.name)}`];
    case 'policy':
      return [`DROP POLICY IF EXISTS ${quoteIdent(o.name)} ON ${table}`];
    case 'rls':
      return [`ALTER TABLE IF EXISTS ${table} NO FORCE ROW LEVEL SECURITY`, `ALTER TABLE IF EXISTS ${table} DISABLE ROW LEVEL SECURITY`];
    case 'comment':
      // the comment's own statement with the text replaced by NULL (the object part was rendered by the catalog)
      return o.createSql.map((sql) => sql.replace(/ IS '(?:[^']|'')*'$/s, ' IS NULL'));
    case 'sequence_value':
      return [];
    case 'role': // cluster-wide, may hold privileges elsewhere: kept
    case 'grant': // goes with its object
    case 'owner':
      return [];
    default: {
      const never: never = o.kind;
      throw new Error(`no drop for kind ${String(never)}`);
    }
  }
}
