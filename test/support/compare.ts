import { expect } from 'vitest';
import { introspect } from '../../src/catalog/introspect.js';
import type { Catalog } from '../../src/catalog/types.js';
import { withPg } from './sql.js';

export async function catalogOf(url: string): Promise<Catalog> {
  return withPg(url, (c) => introspect(c));
}

/** Asserts that the target holds every source object with the same server-rendered definition, and nothing else. */
export async function expectSameSchema(sourceUrl: string, targetUrl: string): Promise<void> {
  const [s, t] = await Promise.all([catalogOf(sourceUrl), catalogOf(targetUrl)]);
  const target = new Map(t.objects.map((o) => [o.address, o.definition]));
  const source = new Set(s.objects.map((o) => o.address));
  const differences = s.objects
    .filter((o) => target.get(o.address) !== o.definition)
    .map((o) => `${o.address}\n  source: ${o.definition}\n  target: ${target.get(o.address) ?? '(missing)'}`);
  const extra = t.objects.filter((o) => !source.has(o.address)).map((o) => `only on the target: ${o.address}`);
  expect([...differences, ...extra], [...differences, ...extra].join('\n')).toEqual([]);
  expect(t.fingerprint).toBe(s.fingerprint);
}

export interface TableChecksum {
  readonly table: string;
  readonly rows: number;
  readonly hash: string;
}

/** count(*) and an order-independent hash of every row's text, per leaf table (UTC, so timestamps render alike). */
export async function tableChecksums(url: string): Promise<TableChecksum[]> {
  return withPg(url, async (c) => {
    await c.query(
      "SET TimeZone = 'UTC'; SET extra_float_digits = 1; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET bytea_output = 'hex'",
    );
    const tables = await c.query<{ s: string; n: string }>(
      `SELECT n.nspname AS s, c.relname AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift') AND n.nspname NOT LIKE 'pg\\_%'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 1, 2`,
    );
    const out: TableChecksum[] = [];
    for (const t of tables.rows) {
      const q = `"${t.s.replace(/"/g, '""')}"."${t.n.replace(/"/g, '""')}"`;
      const r = await c.query<{ rows: string; hash: string | null }>(
        `SELECT count(*) AS rows, sum(hashtextextended(x::text, 0)::numeric)::text AS hash FROM ONLY ${q} x`,
      );
      out.push({ table: `${t.s}.${t.n}`, rows: Number(r.rows[0]?.rows), hash: r.rows[0]?.hash ?? '0' });
    }
    return out;
  });
}

/** Asserts both databases hold the same rows in every table (duplicates included). */
export async function expectSameData(
  sourceUrl: string,
  targetUrl: string,
  opts: { ignoreTargetOnly?: boolean } = {},
): Promise<void> {
  const [s, t] = await Promise.all([tableChecksums(sourceUrl), tableChecksums(targetUrl)]);
  const names = new Set(s.map((x) => x.table));
  expect(opts.ignoreTargetOnly ? t.filter((x) => names.has(x.table)) : t).toEqual(s);
}
