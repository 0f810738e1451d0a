import { address } from '../catalog/address.js';
import { render } from '../catalog/kinds/registry.js';
import { specOf, type Catalog, type CatalogObject } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { quoteLiteral } from '../db/ident.js';
import type { Finding } from '../errors/finding.js';
import { extensionSchemaOf } from '../config/supabase.js';

/**
 * Where each extension lives on the target (where the target has it, else target.extension_schema, else
 * `extensions` on Supabase, else where schemas.map puts its schema), and the names it owns that move with it.
 */
export interface ExtensionPlacement {
  /** extension address -> its schema on the target */
  readonly schemaOf: ReadonlyMap<string, string>;
  /** `schema\0name` of a member that moves -> the new schema */
  readonly moved: ReadonlyMap<string, string>;
  /** old extension schema -> new one */
  readonly movedFrom: ReadonlyMap<string, string>;
}

export function placeExtensions(
  config: Config,
  source: Catalog,
  target: Catalog,
  mapSchema: (s: string) => string,
): ExtensionPlacement {
  const extensionSchema = extensionSchemaOf(config.target);
  const targetObjects = new Map(target.objects.map((o) => [o.address, o]));
  const moved = new Map<string, string>();
  const schemaOf = new Map<string, string>();
  const movedFrom = new Map<string, string>();
  for (const e of source.objects.filter((o) => o.kind === 'extension')) {
    const from = e.schema ?? '';
    const to = targetObjects.get(e.address)?.schema ?? extensionSchema ?? mapSchema(from);
    schemaOf.set(e.address, to);
    if (to === from) continue;
    movedFrom.set(from, to);
    for (const m of source.extensionMembers ?? [])
      if (m.extension === e.name && m.schema === from) moved.set(`${m.schema}\u0000${m.name}`, to);
  }
  return { schemaOf, moved, movedFrom };
}

/** The extension object on the target (in its schema there, which is created first when nobody else makes it). */
export function mapExtension(
  config: Config,
  o: CatalogObject,
  placement: ExtensionPlacement,
  source: Catalog,
  schemas: { readonly source: ReadonlySet<string>; readonly target: ReadonlySet<string> },
  findings: Finding[],
): CatalogObject {
  const to = placement.schemaOf.get(o.address) ?? o.schema ?? '';
  if (to === o.schema) return o;
  const members = (source.extensionMembers ?? []).filter((m) => m.extension === o.name).length;
  findings.push({
    code: 'EXTENSION_SCHEMA_MOVED',
    severity: 'warning',
    address: o.address,
    message: `${o.address} lives in "${o.schema ?? ''}" on the source and in "${to}" on the target; references to its ${members} object(s) through "${o.schema ?? ''}" are rewritten to "${to}"`,
    hint: config.target.extensionSchema
      ? 'Set by target.extension_schema.'
      : 'Set target.extension_schema to choose another schema.',
  });
  const spec = { createSchema: !(schemas.target.has(to) || schemas.source.has(to)) };
  const dependsOn = schemas.source.has(to) ? [address.schema(to)] : [];
  return {
    ...o,
    schema: to,
    spec,
    ...render({ kind: 'extension', spec, schema: to, name: o.name, table: null }),
    dependsOn,
  };
}

/** A routine that pins search_path to the extension's old schema calls its objects unqualified there: a warning. */
export function searchPathFinding(o: CatalogObject, movedFrom: ReadonlyMap<string, string>): Finding | null {
  const listed = specOf(o, 'function')?.searchPath ?? null;
  if (listed === null || movedFrom.size === 0) return null;
  const stale = [...movedFrom].filter(([from, to]) => listed.includes(from) && !listed.includes(to));
  if (stale.length === 0) return null;
  return {
    code: 'EXTENSION_SEARCH_PATH',
    severity: 'warning',
    address: o.address,
    message: `${o.address} sets search_path to ${listed.map(quoteLiteral).join(', ')}: extension objects it calls unqualified are no longer there on the target (${stale.map(([f, t]) => `${f} -> ${t}`).join(', ')})`,
    hint: `Add ${stale.map(([, t]) => t).join(', ')} to its search_path (ALTER FUNCTION ... SET search_path), or qualify the calls.`,
  };
}
