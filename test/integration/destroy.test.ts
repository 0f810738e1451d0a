/**
 * destroy removes exactly what pgshift created: the target's catalog after destroy equals the one before the first
 * apply, objects that were there before (and their rows) are untouched, and the state schema goes last.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, runCli } from '../e2e/cli.js';
import { catalogOf, expectSameData } from '../support/compare.js';
import { configDir, minimalConfig } from '../support/config.js';
import { copyDatasetSql } from '../support/datasets.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const cfg = configDir('destroy');
let dbs: FreshDatabases;
let env: NodeJS.ProcessEnv;
let file: string;

const hasScript = spawnSync('script', ['--version']).status === 0;
const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs the CLI on a pseudo-terminal (util-linux `script`), types `keys` at the approval question. */
function onTerminal(
  args: readonly string[],
  keys: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const cmd = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'dumb', ...env },
    });
    let output = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (!typed && output.includes('Enter a value:')) {
        typed = true;
        child.stdin.write(keys);
      }
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

beforeAll(async () => {
  dbs = await freshDatabases('destroy');
  await withPg(dbs.sourceUrl, (c) =>
    c.query(readFileSync(join(REPO, 'test', 'fixtures', 'catalog', 'all-kinds.sql'), 'utf8')),
  );
  await withPg(dbs.sourceUrl, (c) => c.query(copyDatasetSql(2_000)));
  // what the target held before pgshift came
  await withPg(dbs.targetUrl, (c) =>
    c.query(
      `CREATE TABLE public.keep_me (id int PRIMARY KEY, note text); INSERT INTO public.keep_me VALUES (1, 'mine'); COMMENT ON TABLE public.keep_me IS 'not pgshift''s'`,
    ),
  );
  env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
  file = cfg.write(minimalConfig('copy: { batch_size: 500 }\n'), 'destroy.yaml');
});
afterAll(async () => {
  await dbs?.drop();
  cfg.remove();
});

describe('pgshift destroy', () => {
  it('asks for approval, then leaves the target exactly as it was before the first apply', async () => {
    const before = await catalogOf(dbs.targetUrl);
    const applied = runCli(['apply', '-c', file, '--auto-approve'], env);
    expect(applied.status, applied.stderr).toBe(0);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl, { ignoreTargetOnly: true }); // every kind and hostile name, with data
    expect((await catalogOf(dbs.targetUrl)).objects.length).toBeGreaterThan(before.objects.length + 50);

    const refused = runCli(['destroy', '-c', file], env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('Error [APPROVAL_REQUIRED]');
    // the hint names what approves destroy: it has no saved plans
    expect(refused.stderr).toContain('pgshift destroy --auto-approve');
    expect(refused.stderr).not.toMatch(/saved plan|pgshift apply/);

    if (hasScript) {
      // Ctrl-C at the question on a terminal: exit 130, "Aborted", not INTERNAL; nothing destroyed
      const ctrlC = await onTerminal(['destroy', '-c', file], '\x03', env);
      expect(ctrlC.status, ctrlC.output).toBe(130);
      expect(ctrlC.output).toContain('Error [INTERRUPTED]: Aborted');
      expect(ctrlC.output).not.toContain('INTERNAL');
      const still = await withPg(
        dbs.targetUrl,
        async (c) =>
          (await c.query("SELECT to_regnamespace('pgshift') IS NOT NULL AS there")).rows[0] as { there: boolean },
      );
      expect(still.there).toBe(true);
    }

    const r = runCli(['destroy', '-c', file, '--auto-approve'], env);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/- table We"ird Schema\.select/);
    expect(r.stdout).toMatch(/Plan: 0 to add, 0 to resume, 0 to change, \d+ to destroy\./);
    expect(r.stdout).toContain('Destroy complete!');
    const after = await catalogOf(dbs.targetUrl);
    expect(after.objects.map((o) => o.address).sort()).toEqual(before.objects.map((o) => o.address).sort());
    expect(after.fingerprint).toBe(before.fingerprint);
    const kept = await withPg(dbs.targetUrl, async (c) => (await c.query('SELECT id, note FROM public.keep_me')).rows);
    expect(kept).toEqual([{ id: 1, note: 'mine' }]);
    const state = await withPg(
      dbs.targetUrl,
      async (c) => (await c.query("SELECT to_regnamespace('pgshift') IS NULL AS gone")).rows[0] as { gone: boolean },
    );
    expect(state.gone).toBe(true);
    const again = runCli(['destroy', '-c', file, '--auto-approve'], env);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('Nothing to destroy');
  });

  it('runs its drops through the executor: a drop the server refuses keeps that object (with the reason), the rest go', async () => {
    const applied = runCli(['apply', '-c', file, '--auto-approve'], env);
    expect(applied.status, applied.stderr).toBe(0);
    // an object pgshift did not create that uses one it did: dropping the table (never CASCADE) must fail
    await withPg(dbs.targetUrl, (c) => c.query('CREATE VIEW public.my_patients AS SELECT id FROM data.patients'));
    const r = runCli(['destroy', '-c', file, '--auto-approve', '--json'], env);
    expect(r.status, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout) as {
      status: string;
      dropped: string[];
      kept: Array<{ address: string; reason: string }>;
      plan: { items: Array<{ kind: string; change: string; address: string; sql: string[] }> };
    };
    expect(out.status).toBe('partial');
    // the plan is drop actions, dependents first (an index before its table, the table before its schema)
    expect(out.plan.items.every((i) => i.kind === 'drop_object' && i.change === 'delete')).toBe(true);
    const at = (a: string): number => out.plan.items.findIndex((i) => i.address === a);
    expect(at('table data.patients')).toBeGreaterThan(-1);
    expect(at('table data.patients')).toBeLessThan(at('schema data'));
    expect(out.plan.items.find((i) => i.address === 'table data.patients')?.sql).toEqual([
      'DROP TABLE IF EXISTS "data"."patients"',
    ]);
    const kept = new Map(out.kept.map((k) => [k.address, k.reason]));
    expect(kept.get('table data.patients')).toContain('SQLSTATE 2BP01'); // dependent objects still exist
    expect(kept.get('table data.patients')).not.toContain('table data.patients:');
    expect(kept.has('schema data')).toBe(true); // it still holds the kept table
    expect(out.dropped).toContain('table data.audit_log');
    expect(out.dropped.length + out.kept.length).toBe(out.plan.items.length);
    // the dropped ones left pgshift.objects with their drop; the kept ones are still recorded; the state stays
    const recorded = await withPg(dbs.targetUrl, async (c) =>
      (await c.query<{ address: string }>('SELECT address FROM pgshift.objects')).rows.map((x) => x.address),
    );
    expect(recorded.sort()).toEqual([...kept.keys()].sort());
    expect(r.stderr).toContain('Error [ACTION_FAILED]');
    expect(r.stderr).toContain('table data.patients (');

    await withPg(dbs.targetUrl, (c) => c.query('DROP VIEW public.my_patients'));
    const again = runCli(['destroy', '-c', file, '--auto-approve'], env);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('Destroy complete!');
    const state = await withPg(
      dbs.targetUrl,
      async (c) => (await c.query("SELECT to_regnamespace('pgshift') IS NULL AS gone")).rows[0] as { gone: boolean },
    );
    expect(state.gone).toBe(true);
  }, 120_000);
});
