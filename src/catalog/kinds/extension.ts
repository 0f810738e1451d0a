import { quoteIdent } from '../../db/ident.js';
import type { KindModule } from './kind.js';

/** An extension, in the schema `schema` of its object; `createSchema` when that schema is made for it first. */
export interface ExtensionSpec {
  readonly createSchema: boolean;
}

export const extensionKind: KindModule<ExtensionSpec> = {
  phase: 'pre-data',
  create: (o) => [
    ...(o.spec.createSchema ? [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(o.schema ?? '')}`] : []),
    `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(o.name)} WITH SCHEMA ${quoteIdent(o.schema ?? '')}`,
  ],
  definition: (o) => `extension ${quoteIdent(o.name)} schema ${quoteIdent(o.schema ?? '')}`,
  drop: (o) => [`DROP EXTENSION IF EXISTS ${quoteIdent(o.name)}`],
  // where an extension lives on the target is decided by the mapping (src/mapping/extensions.ts), not by schemas.map
  map: (o) => o,
};
