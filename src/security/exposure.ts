import type pg from 'pg';
import type { Catalog } from '../catalog/types.js';
import type { Config } from '../config/types.js';
import { qualified, quoteIdent } from '../db/ident.js';
import { introspect } from '../catalog/introspect.js';
import { connectClient } from '../db/connect.js';
import { API_ROLES } from '../mapping/api-roles.js';
import { mapForTarget } from '../mapping/target-map.js';
import { endpoints, sessionSettings } from '../db/endpoints.js';
import { Scope } from '../catalog/scope.js';

export { API_ROLES } from '../mapping/api-roles.js';

/** Column names that suggest personal or health data (in the spirit of Supabase's sensitive_columns_exposed lint). */
const SENSITIVE =
  /(^|_)(e?mail|phone|mobile|ssn|social_security|password|passwd|secret|token|api_key|dob|birth|birthdate|date_of_birth|address|diagnos[a-z]*|medical|patient|insurance|credit_card|card_number|iban|tax_id|passport|license)(_|$)/i;

export type ExposureLint =
  | 'rls_disabled_in_public'
  | 'policy_exposes_rows'
  | 'sensitive_columns_exposed'
  | 'security_definer_view'
  | 'materialized_view_in_api'
  | 'exposure_unproven';

export interface ExposureFinding {
  readonly lint: ExposureLint;
  /** `schema.table` */
  readonly table: string;
  readonly role: string;
  readonly message: string;
}

export interface TableExposure {
  readonly table: string;
  readonly kind: 'table' | 'view' | 'materialized view';
  readonly rls: boolean;
  /** per API role: what reading as that role returned */
  readonly roles: Readonly<Record<string, 'no privilege' | 'no rows' | 'rows' | 'error'>>;
}

export interface ExposureReport {
  /** true when no API role can read a row of any migrated table in an exposed schema */
  readonly ok: boolean;
  readonly exposedSchemas: readonly string[];
  /** API roles that exist on the target and were checked by reading as them (SET ROLE) */
  readonly rolesChecked: readonly string[];
  readonly tables: readonly TableExposure[];
  readonly findings: readonly ExposureFinding[];
}

interface TableRow {
  schema: string;
  name: string;
  relkind: string;
  rls: boolean;
  sensitive: string[];
}

/** The migrated tables, views and materialized views (as named on the target) that sit in an exposed schema. */
export function exposedTables(
  config: Config,
  source: Catalog,
  target: Catalog,
): Array<{ schema: string; name: string }> {
  const exposed = new Set(config.security.exposedSchemas);
  const mapped = mapForTarget(config, source, target).catalog;
  const scope = new Scope(config, mapped);
  const tables = mapped.tables
    .filter((t) => exposed.has(t.schema) && scope.tableInScope(t.schema, t.name))
    .map((t) => ({ schema: t.schema, name: t.name }));
  const views = mapped.objects
    .filter(
      (o) =>
        (o.kind === 'view' || o.kind === 'materialized_view') &&
        o.schema !== null &&
        exposed.has(o.schema) &&
        scope.objectInScope(o),
    )
    .map((o) => ({ schema: o.schema ?? '', name: o.name }));
  return [...tables, ...views].sort((a, b) => (`${a.schema}.${a.name}` < `${b.schema}.${b.name}` ? -1 : 1));
}

/**
 * Proves, by reading as each API role (SET ROLE in a read-only transaction that is rolled back), that `anon` and
 * `authenticated` read no row of the given tables; tables whose RLS is off and that the role may SELECT are
 * `rls_disabled_in_public`, rows visible through RLS are `policy_exposes_rows`, and readable tables with columns
 * named like personal data are `sensitive_columns_exposed`. Only existence is read (no value leaves the server).
 * A role the session is not a member of is judged from the catalog (privilege, RLS and policies) instead.
 */
export async function checkExposure(
  client: pg.ClientBase,
  tables: ReadonlyArray<{ schema: string; name: string }>,
  exposedSchemas: readonly string[],
): Promise<ExposureReport> {
  const roles = await client.query<{ rolname: string; member: boolean }>(
    `SELECT r.rolname::pg_catalog.text AS rolname, pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER') AS member
       FROM pg_catalog.pg_roles r WHERE r.rolname = ANY ($1::pg_catalog.text[]) ORDER BY 1`,
    [API_ROLES],
  );
  const out: TableExposure[] = [];
  const findings: ExposureFinding[] = [];
  for (const t of tables) {
    const info = await client.query<TableRow>(
      `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, c.relrowsecurity AS rls,
              COALESCE((SELECT pg_catalog.array_agg(a.attname::pg_catalog.text ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
                         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '{}') AS sensitive
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
      [t.schema, t.name],
    );
    const row = info.rows[0];
    if (!row) continue;
    const name = `${t.schema}.${t.name}`;
    const sensitive = row.sensitive.filter((c) => SENSITIVE.test(c));
    const kind: TableExposure['kind'] =
      row.relkind === 'v' ? 'view' : row.relkind === 'm' ? 'materialized view' : 'table';
    const result: Record<string, TableExposure['roles'][string]> = {};
    for (const r of roles.rows) {
      const seen = r.member
        ? await readAs(client, r.rolname, t)
        : await judgeFromCatalog(client, r.rolname, t, row.rls);
      result[r.rolname] = seen;
      if (seen === 'error') {
        findings.push({
          lint: 'exposure_unproven',
          table: name,
          role: r.rolname,
          message: `reading ${name} as ${r.rolname} failed, so pgshift cannot prove it reads nothing`,
        });
        continue;
      }
      if (seen !== 'rows') continue;
      if (kind !== 'table') {
        findings.push(
          kind === 'view'
            ? {
                lint: 'security_definer_view',
                table: name,
                role: r.rolname,
                message: `view ${name} runs as its owner and lets ${r.rolname} read rows through the Data API, whatever RLS says`,
              }
            : {
                lint: 'materialized_view_in_api',
                table: name,
                role: r.rolname,
                message: `materialized view ${name} (no RLS possible) lets ${r.rolname} read its rows through the Data API`,
              },
        );
      } else if (!row.rls) {
        findings.push({
          lint: 'rls_disabled_in_public',
          table: name,
          role: r.rolname,
          message: `${name} has row level security off and ${r.rolname} can read its rows through the Data API`,
        });
        if (sensitive.length > 0) {
          findings.push({
            lint: 'sensitive_columns_exposed',
            table: name,
            role: r.rolname,
            message: `${name} exposes column(s) named like personal data to ${r.rolname}: ${sensitive.join(', ')}`,
          });
        }
      } else {
        findings.push({
          lint: 'policy_exposes_rows',
          table: name,
          role: r.rolname,
          message: `${name} has row level security on, but a policy lets ${r.rolname} read rows`,
        });
      }
    }
    out.push({ table: name, kind, rls: row.rls, roles: result });
  }
  return {
    ok: findings.length === 0,
    exposedSchemas,
    rolesChecked: roles.rows.filter((r) => r.member).map((r) => r.rolname),
    tables: out,
    findings,
  };
}

async function readAs(
  client: pg.ClientBase,
  role: string,
  t: { schema: string; name: string },
): Promise<'no privilege' | 'no rows' | 'rows' | 'error'> {
  await client.query('BEGIN READ ONLY');
  try {
    await client.query("SET LOCAL statement_timeout = '60s'");
    await client.query(`SET LOCAL ROLE ${quoteIdent(role)}`);
    const r = await client.query<{ any: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ONLY ${qualified(t.schema, t.name)}) AS any`,
    );
    return r.rows[0]?.any ? 'rows' : 'no rows';
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '42501') return 'no privilege';
    // a policy whose expression fails, a timeout...: not proven (the server's message may quote values: not kept)
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return 'error';
    throw err;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

/** Without membership in the role: SELECT privilege, then RLS and a SELECT policy for the role or PUBLIC. */
async function judgeFromCatalog(
  client: pg.ClientBase,
  role: string,
  t: { schema: string; name: string },
  rls: boolean,
): Promise<'no privilege' | 'no rows' | 'rows'> {
  const r = await client.query<{ can: boolean; policy: boolean; any: boolean }>(
    `SELECT pg_catalog.has_table_privilege($1, c.oid, 'SELECT') AS can,
            EXISTS (SELECT 1 FROM pg_catalog.pg_policy p
                     WHERE p.polrelid = c.oid AND p.polcmd IN ('r', '*') AND p.polpermissive
                       AND (0::pg_catalog.oid = ANY (p.polroles) OR (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) = ANY (p.polroles))) AS policy,
            EXISTS (SELECT 1 FROM ONLY ${qualified(t.schema, t.name)}) AS any
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $2 AND c.relname = $3`,
    [role, t.schema, t.name],
  );
  const x = r.rows[0];
  if (!x?.can) return 'no privilege';
  if (!x.any) return 'no rows';
  return !rls || x.policy ? 'rows' : 'no rows';
}

/** One line for the apply and verify output. */
export function describeExposure(report: ExposureReport): string {
  if (report.tables.length === 0)
    return `Security: no migrated table in the exposed schemas (${report.exposedSchemas.join(', ') || 'none'}).`;
  const roles = Object.keys(report.tables[0]?.roles ?? {});
  if (report.ok) {
    const tables = report.tables.filter((t) => t.kind === 'table');
    const views = report.tables.length - tables.length;
    return `Security: ${roles.join(' and ') || 'no API role'} read no row of the ${tables.length} migrated table(s)${views > 0 ? ` and ${views} view(s)` : ''} in ${report.exposedSchemas.join(', ')} (RLS on ${tables.filter((t) => t.rls).length}; checked by reading as ${report.rolesChecked.join(', ') || 'nobody: judged from the catalog'}).`;
  }
  return [
    `Security: ${report.findings.length} exposure(s) in the exposed schemas:`,
    ...report.findings.map((f) => `  [${f.lint}] ${f.message}`),
  ].join('\n');
}

/** `pgshift verify`: connect to both sides, read both catalogs, check the migrated tables of the exposed schemas. */
export async function checkExposureNow(config: Config): Promise<ExposureReport | undefined> {
  if (config.security.exposedSchemas.length === 0) return undefined;
  const eps = endpoints(config);
  const session = sessionSettings(config);
  const [s, t] = await Promise.all([connectClient(eps.source, session), connectClient(eps.target, session)]);
  try {
    const [source, target] = await Promise.all([introspect(s), introspect(t)]);
    return await checkExposure(t, exposedTables(config, source, target), config.security.exposedSchemas);
  } finally {
    await Promise.all([s.end().catch(() => undefined), t.end().catch(() => undefined)]);
  }
}
