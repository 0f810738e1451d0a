import { quoteIdent } from '../../db/ident.js';
import type { KindModule } from './kind.js';

/** A schema: CREATE SCHEMA IF NOT EXISTS, so `public` is harmless. */
export type SchemaSpec = Record<string, never>;

const create = (name: string): string => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(name)}`;

export const schemaKind: KindModule<SchemaSpec> = {
  phase: 'pre-data',
  create: (o) => [create(o.name)],
  definition: (o) => create(o.name),
  drop: (o) => [`DROP SCHEMA IF EXISTS ${quoteIdent(o.name)}`],
  map: (o, m) => ({ schema: null, name: m.schemaName(o.name), table: null, spec: o.spec }),
};
