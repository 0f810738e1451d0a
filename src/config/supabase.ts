/** What a Supabase target reserves for itself (../shared/design/supabase.md): schemas and roles pgshift never writes. */

/** Schemas Supabase manages: a migration must never create objects in them (extensions: only through CREATE EXTENSION). */
export const SUPABASE_MANAGED_SCHEMAS: readonly string[] = [
  'auth',
  'storage',
  'realtime',
  'extensions',
  'graphql',
  'graphql_public',
  'vault',
  'pgbouncer',
  'supabase_functions',
  'supabase_migrations',
  'net',
  'cron',
  'pgsodium',
  '_realtime',
  '_analytics',
];

/** Roles Supabase reserves (supautils): never created or altered. */
export const SUPABASE_RESERVED_ROLES: readonly string[] = [
  'anon',
  'authenticated',
  'authenticator',
  'service_role',
  'pgbouncer',
  'dashboard_user',
];

export function isManagedSchema(name: string): boolean {
  return SUPABASE_MANAGED_SCHEMAS.includes(name);
}

export function isReservedRole(name: string): boolean {
  return name.startsWith('supabase_') || SUPABASE_RESERVED_ROLES.includes(name) || name.startsWith('pg_');
}

/** Where extensions live on the target: target.extension_schema, else `extensions` on Supabase, else where they were. */
export function extensionSchemaOf(target: {
  readonly provider: string;
  readonly extensionSchema: string | undefined;
}): string | undefined {
  return target.extensionSchema ?? (target.provider === 'supabase' ? 'extensions' : undefined);
}
