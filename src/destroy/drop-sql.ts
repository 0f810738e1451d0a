import { kindModule } from '../catalog/kinds/registry.js';
import type { CatalogObject } from '../catalog/types.js';
import { PgshiftError } from '../errors/pgshift-error.js';

/**
 * The statements that undo one object pgshift created (empty: nothing to undo on its own), as the object's kind
 * renders them from its typed fields (src/catalog/kinds/<kind>.ts).
 */
export function dropSql(o: CatalogObject): string[] {
  if (o.spec === undefined) {
    throw new PgshiftError('INTERNAL', `${o.address} carries no typed fields to drop it from.`, {
      hint: 'Drop it by hand on the target; objects read from a database always carry them.',
    });
  }
  return kindModule(o.kind).drop({ schema: o.schema, name: o.name, table: o.table, spec: o.spec });
}
