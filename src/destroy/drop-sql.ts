import { kindModule } from '../catalog/kinds/registry.js';
import type { CatalogObject } from '../catalog/types.js';

/**
 * The statements that undo one object pgshift created (empty: nothing to undo on its own), as the object's kind
 * renders them from its typed fields (src/catalog/kinds/<kind>.ts).
 */
export function dropSql(o: CatalogObject): string[] {
  return kindModule(o.kind).drop({ schema: o.schema, name: o.name, table: o.table, spec: o.spec });
}
