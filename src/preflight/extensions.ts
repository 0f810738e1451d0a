import type { Provider } from '../db/endpoint-config.js';
import type { PreflightItem, ServerFacts } from './facts.js';

export interface DeprecatedExtension {
  readonly name: string;
  readonly reason: string;
  /** Only on these providers' targets (all when absent). */
  readonly providers?: readonly Provider[];
}

/**
 * Extensions that still work (or are still available somewhere) but should not be carried forward. Kept short
 * and sourced; docs/preflight.md lists the same.
 */
export const DEPRECATED_EXTENSIONS: readonly DeprecatedExtension[] = [
  { name: 'adminpack', reason: 'removed from PostgreSQL 17' },
  { name: 'old_snapshot', reason: 'removed from PostgreSQL 17' },
  { name: 'xml2', reason: 'deprecated by PostgreSQL (use the built-in XML functions and XMLTABLE)' },
  { name: 'intagg', reason: 'obsolete: PostgreSQL documents array_agg() and unnest() as its replacement' },
  {
    name: 'plv8',
    reason: 'deprecated on Supabase (not available on its Postgres 17 projects)',
    providers: ['supabase'],
  },
  {
    name: 'plls',
    reason: 'deprecated on Supabase (not available on its Postgres 17 projects)',
    providers: ['supabase'],
  },
  {
    name: 'plcoffee',
    reason: 'deprecated on Supabase (not available on its Postgres 17 projects)',
    providers: ['supabase'],
  },
  {
    name: 'timescaledb',
    reason: 'deprecated on Supabase (not available on its Postgres 17 projects)',
    providers: ['supabase'],
  },
  {
    name: 'pgjwt',
    reason: 'deprecated on Supabase (not available on its Postgres 17 projects)',
    providers: ['supabase'],
  },
];

const addr = (name: string): string => `extension ${name}`;

/**
 * Every extension the source uses must be creatable on the target: available there (pg_available_extensions),
 * and, when its control file says superuser and it is not trusted, created by a superuser, unless the target
 * already has it or Supabase's supautils lets the role create it (supautils.privileged_extensions).
 */
export function extensionItems(source: ServerFacts, target: ServerFacts, targetProvider: Provider): PreflightItem[] {
  const used = source.installedExtensions;
  if (used.length === 0)
    return [
      {
        code: 'EXTENSIONS_NONE',
        check: 'extensions',
        side: 'source',
        level: 'ok',
        message: 'the source uses no extensions',
      },
    ];
  const available = new Map(target.availableExtensions.map((a) => [a.name, a]));
  const items: PreflightItem[] = [];
  const base = { check: 'extensions' as const, side: 'target' as const };
  for (const e of used) {
    const a = available.get(e.name);
    const address = addr(e.name);
    if (!a) {
      items.push({
        ...base,
        address,
        code: 'EXTENSION_UNAVAILABLE',
        level: 'blocker',
        message: `extension ${e.name} (used by the source, in schema ${e.schema}) is not available on the target`,
        hint: `Install ${e.name} on the target server (or pick a target that offers it), or remove it and the objects that need it from the source.`,
      });
    } else if (a.installedVersion !== null) {
      items.push({
        ...base,
        address,
        code: 'EXTENSION_INSTALLED',
        level: 'ok',
        message: `extension ${e.name} is installed on the target (${a.installedVersion}; source ${e.version})`,
      });
    } else if (
      a.superuser &&
      !a.trusted &&
      !target.superuser &&
      !(target.privilegedExtensions ?? []).includes(e.name)
    ) {
      items.push({
        ...base,
        address,
        code: 'EXTENSION_REQUIRES_SUPERUSER',
        level: 'blocker',
        message: `extension ${e.name} can only be created by a superuser, and the target role ${target.role} is not one`,
        hint: `Have a superuser run CREATE EXTENSION ${e.name} on the target before apply${targetProvider === 'supabase' ? ' (on Supabase: enable it in Dashboard > Database > Extensions, if offered)' : ''}, or remove it from the source.`,
      });
    } else {
      items.push({
        ...base,
        address,
        code: 'EXTENSION_AVAILABLE',
        level: 'ok',
        message: `extension ${e.name} is available on the target (${a.defaultVersion ?? '?'}; source ${e.version})`,
      });
    }
    const deprecated = DEPRECATED_EXTENSIONS.find(
      (d) => d.name === e.name && (!d.providers || d.providers.includes(targetProvider)),
    );
    if (deprecated) {
      items.push({
        ...base,
        side: 'source',
        address,
        code: 'EXTENSION_DEPRECATED',
        level: 'warning',
        message: `extension ${e.name} is ${deprecated.reason}`,
        hint: `Plan to replace ${e.name}; the migration carries it over only while the target still offers it.`,
      });
    }
  }
  return items;
}
