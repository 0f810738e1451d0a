/**
 * Split copy units (copy.split_tables_larger_than): tables with a uuid, a text and a composite key are copied as key
 * ranges whose boundaries are sampled on the source (histogram or TABLESAMPLE); every key falls in exactly one part,
 * the plan shows the parts without a key value, and a resume reuses the stored boundaries.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, runCli } from '../e2e/cli.js';
import { expectSameData } from '../support/compare.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const cfg = configDir('split');
afterAll(() => cfg.remove());

const SOURCE_SQL = `
  CREATE EXTENSION IF NOT EXISTS pgcrypto;
  CREATE TABLE public.s_uuid (id uuid PRIMARY KEY, v text NOT NULL);
  INSERT INTO public.s_uuid SELECT gen_random_uuid(), repeat('u', 40) || g FROM generate_series(1, 20000) g;
  CREATE TABLE public.s_text (code text PRIMARY KEY, v int NOT NULL);
  INSERT INTO public.s_text SELECT 'MRN-' || md5(g::text), g FROM generate_series(1, 20000) g;
  CREATE TABLE public.s_comp (a int NOT NULL, b text NOT NULL, v text, PRIMARY KEY (a, b));
  INSERT INTO public.s_comp SELECT g % 7, 'k' || g, repeat('c', 30) FROM generate_series(1, 20000) g;
  CREATE TABLE public.s_nokey (v text);
  INSERT INTO public.s_nokey SELECT repeat('n', 40) || g FROM generate_series(1, 20000) g;
  ANALYZE public.s_uuid; ANALYZE public.s_text; ANALYZE public.s_comp; ANALYZE public.s_nokey;
`;

const KEYS: Record<string, string[]> = { s_uuid: ['id'], s_text: ['code'], s_comp: ['a', 'b'] };

interface SplitRow {
  table_name: string;
  parts: number;
  bounds: string[][];
  method: string;
  created_at: Date;
}

async function splits(url: string): Promise<SplitRow[]> {
  return withPg(url, async (c) => {
    const r = await c.query<SplitRow>(
      'SELECT table_name, parts, bounds, method, created_at FROM pgshift.copy_splits ORDER BY table_name',
    );
    return r.rows;
  });
}

/** For every source row: how many parts' ranges hold its key (must be exactly one). */
async function coverage(url: string, table: string, bounds: string[][], parts: number): Promise<number[]> {
  const key = KEYS[table] as string[];
  return withPg(url, async (c) => {
    const types = await c.query<{ t: string }>(
      `SELECT format_type(a.atttypid, a.atttypmod) AS t FROM pg_attribute a
        WHERE a.attrelid = $1::regclass AND a.attname = ANY($2) ORDER BY array_position($2, a.attname::text)`,
      [`public.${table}`, key],
    );
    const cols = `(${key.map((k) => `t.${k}`).join(', ')})`;
    const params: string[] = [];
    const tuple = (vals: string[]): string =>
      `(${vals.map((v, i) => (params.push(v), `$${params.length}::${types.rows[i]?.t}`)).join(', ')})`;
    const cases: string[] = [];
    for (let i = 1; i <= parts; i++) {
      const n = bounds.length;
      if (i > n + 1) continue;
      const lo = i === 1 ? null : (bounds[i - 2] as string[]);
      const hi = i === n + 1 ? null : (bounds[i - 1] as string[]);
      const conds = [...(lo ? [`${cols} > ${tuple(lo)}`] : []), ...(hi ? [`${cols} <= ${tuple(hi)}`] : [])];
      cases.push(`(CASE WHEN ${conds.length ? conds.join(' AND ') : 'true'} THEN 1 ELSE 0 END)`);
    }
    const r = await c.query<{ n: number; rows: string }>(
      `SELECT (${cases.join(' + ')}) AS n, count(*)::text AS rows FROM public.${table} t GROUP BY 1 ORDER BY 1`,
      params,
    );
    return r.rows.map((x) => x.n);
  });
}

describe('split copy units', () => {
  let dbs: FreshDatabases;
  let file: string;
  const env = (): NodeJS.ProcessEnv => ({ SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl });
  beforeAll(async () => {
    dbs = await freshDatabases('split');
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE_SQL));
    file = cfg.write(
      minimalConfig('copy: { batch_size: 700, parallel: 2, split_tables_larger_than: 256kB }\n'),
      'split.yaml',
    );
  });
  afterAll(async () => dbs?.drop());

  it('plans the parts without a key value, copies every key exactly once, and verifies by the summed digests', async () => {
    const plan = runCli(['plan', '-c', file], env());
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/copy public\.s_uuid: [0-9]+ parts/);
    expect(plan.stdout).toMatch(/copy public\.s_text: [0-9]+ parts/);
    expect(plan.stdout).toMatch(/copy public\.s_comp: [0-9]+ parts/);
    expect(plan.stdout).toMatch(/copy public\.s_nokey\s/); // keyless: one unit
    expect(plan.stdout).not.toMatch(/MRN-/);
    const json = JSON.parse(runCli(['plan', '-c', file, '--json'], env()).stdout) as {
      actions: { id: string; kind: string; part?: { of: number }; dependsOn: string[] }[];
    };
    const parts = json.actions.filter((a) => a.kind === 'copy_table' && a.part);
    expect(new Set(parts.map((a) => a.id.replace(/ \[.*$/, '')))).toEqual(
      new Set(['copy public.s_uuid', 'copy public.s_text', 'copy public.s_comp']),
    );
    expect(JSON.stringify(json)).not.toMatch(/MRN-/);
    // the read-back of a split table waits for all its parts; its primary key only for the copies
    const rb = json.actions.find((a) => a.id === 'read-back public.s_uuid');
    expect(rb?.dependsOn.sort()).toEqual(
      parts
        .filter((a) => a.id.startsWith('copy public.s_uuid'))
        .map((a) => a.id)
        .sort(),
    );

    const applied = runCli(['apply', '-c', file, '--auto-approve', '--json'], env());
    expect(applied.status, applied.stderr).toBe(0);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl);

    const stored = await splits(dbs.targetUrl);
    expect(stored.map((s) => s.table_name)).toEqual(['s_comp', 's_text', 's_uuid']);
    expect(stored.find((s) => s.table_name === 's_uuid')?.method).toBe('histogram');
    expect(stored.find((s) => s.table_name === 's_comp')?.method).toBe('sample');
    for (const s of stored) {
      expect(s.bounds.length, s.table_name).toBe(s.parts - 1);
      expect(await coverage(dbs.sourceUrl, s.table_name, s.bounds, s.parts), s.table_name).toEqual([1]);
    }
    await withPg(dbs.targetUrl, async (c) => {
      const r = await c.query<{ unit: string; status: string; rows_copied: string; verified: string | null }>(
        `SELECT unit, status, rows_copied::text, verified FROM pgshift.migration_checkpoints ORDER BY unit`,
      );
      for (const [table, key] of Object.entries(KEYS)) {
        const units = r.rows.filter((x) => x.unit.startsWith(`copy public.${table} [`));
        expect(units.length, `${table} ${key.join(',')}`).toBe(stored.find((s) => s.table_name === table)?.parts);
        expect(units.map((u) => `${u.status} ${u.verified}`)).toEqual(units.map(() => 'done match'));
        expect(units.reduce((n, u) => n + Number(u.rows_copied), 0)).toBe(20000);
      }
      const v = await c.query<{ report: { tables: { table: string; proof?: string }[] } }>(
        'SELECT report FROM pgshift.verifications ORDER BY finished_at DESC LIMIT 1',
      );
      const proof = new Map(v.rows[0]?.report.tables.map((t) => [t.table, t.proof]));
      expect(proof.get('public.s_uuid')).toBe('copy-digest');
      expect(proof.get('public.s_comp')).toBe('copy-digest');
    });
    const status = runCli(['status', '-c', file], env());
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/done\s+public\.s_uuid\s+20000 rows copied \([0-9]+ of [0-9]+ key ranges done\)/);
    expect(status.stdout).not.toMatch(/MRN-/);
  });

  it('a resumed apply reuses the stored boundaries, so no part overlaps another', async () => {
    const again = await freshDatabases('split_resume');
    try {
      await withPg(again.sourceUrl, (c) => c.query(SOURCE_SQL));
      const e = { SOURCE_DATABASE_URL: again.sourceUrl, TARGET_DATABASE_URL: again.targetUrl };
      const slow = cfg.write(
        minimalConfig('copy: { batch_size: 100, parallel: 1, split_tables_larger_than: 256kB }\n'),
        'split-slow.yaml',
      );
      // kill -9 once some part has a checkpoint
      const child = spawn(process.execPath, [BIN, 'apply', '-c', slow, '--auto-approve'], {
        cwd: REPO,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', ...e },
        stdio: 'ignore',
      });
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      for (let i = 0; i < 300; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const n = await withPg(again.targetUrl, async (c) => {
          const has = await c.query<{ ok: boolean }>(
            `SELECT to_regclass('pgshift.migration_checkpoints') IS NOT NULL AS ok`,
          );
          if (!has.rows[0]?.ok) return 0;
          const r = await c.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pgshift.migration_checkpoints WHERE unit LIKE '%[%'`,
          );
          return r.rows[0]?.n ?? 0;
        });
        if (n > 0) break;
      }
      child.kill('SIGKILL');
      await exited;
      // the tables whose parts had begun: their ranges are in use and must never move
      const begun = await withPg(again.targetUrl, async (c) => {
        const r = await c.query<{ t: string }>(
          `SELECT DISTINCT table_name AS t FROM pgshift.migration_checkpoints WHERE unit LIKE '%[%'`,
        );
        return new Set(r.rows.map((x) => x.t));
      });
      const before = (await splits(again.targetUrl)).filter((s) => begun.has(s.table_name));
      expect(before.length).toBeGreaterThan(0);
      // the source's statistics move (another statistics target, a new ANALYZE): the stored boundaries must not
      await withPg(again.sourceUrl, (c) =>
        c.query(
          `ALTER TABLE public.s_text ALTER COLUMN code SET STATISTICS 17; ANALYZE public.s_text;
           ALTER TABLE public.s_uuid ALTER COLUMN id SET STATISTICS 23; ANALYZE public.s_uuid;`,
        ),
      );
      const resumed = runCli(['apply', '-c', slow, '--auto-approve'], e);
      expect(resumed.status, resumed.stderr).toBe(0);
      const after = await splits(again.targetUrl);
      for (const b of before) {
        const a = after.find((x) => x.table_name === b.table_name);
        expect(a?.bounds, b.table_name).toEqual(b.bounds);
        expect(a?.created_at.getTime()).toBe(b.created_at.getTime());
      }
      await expectSameData(again.sourceUrl, again.targetUrl);
    } finally {
      await again.drop();
    }
  });

  it('refuses a split table that holds rows pgshift did not copy', async () => {
    const other = await freshDatabases('split_foreign');
    try {
      await withPg(other.sourceUrl, (c) => c.query(SOURCE_SQL));
      await withPg(other.targetUrl, (c) =>
        c.query(`CREATE TABLE public.s_text (code text PRIMARY KEY, v int NOT NULL);
                 INSERT INTO public.s_text VALUES ('not-from-pgshift', 1)`),
      );
      const e = { SOURCE_DATABASE_URL: other.sourceUrl, TARGET_DATABASE_URL: other.targetUrl };
      const r = runCli(['apply', '-c', file, '--auto-approve'], e);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /copy public\.s_text \[[0-9]+\/[0-9]+\]: the target table already has rows that pgshift did not copy/,
      );
      expect(r.stderr).not.toContain('not-from-pgshift');
    } finally {
      await other.drop();
    }
  });
});
