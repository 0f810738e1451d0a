import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { copyDatasetSql } from '../support/datasets.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const cfg = configDir('audit');
let dbs: FreshDatabases;
let env: NodeJS.ProcessEnv;
let file: string;
beforeAll(async () => {
  dbs = await freshDatabases('audit');
  await withPg(dbs.sourceUrl, (c) => c.query(copyDatasetSql(300)));
  env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
  file = cfg.write(minimalConfig(''), 'audit.yaml');
  const r = runCli(['apply', '-c', file, '--auto-approve'], env);
  if (r.status !== 0) throw new Error(r.stderr);
  expect(runCli(['verify', '-c', file], env).status).toBe(0);
});
afterAll(async () => {
  await dbs?.drop();
  cfg.remove();
});

describe('the audit trail', () => {
  it('chains every apply and verification, and holds no secret', async () => {
    const r = runCli(['status', '-c', file, '--audit', '--json'], env);
    expect(r.status, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as {
      audit: { ok: boolean; entries: number; trail: { command: string; outcome: string; planHash: string | null }[] };
    };
    expect(view.audit.ok).toBe(true);
    expect(view.audit.trail.map((e) => `${e.command} ${e.outcome}`)).toEqual([
      'verify passed',
      'apply succeeded',
      'verify passed',
    ]);
    expect(view.audit.trail[1]?.planHash).toMatch(/^[0-9a-f]{16}$/);
    const rows = await withPg(dbs.targetUrl, async (c) =>
      JSON.stringify((await c.query('SELECT * FROM pgshift.audit_log')).rows),
    );
    expect(rows).not.toContain(new URL(dbs.targetUrl).password);
    expect(runCli(['status', '-c', file, '--audit'], env).stdout).toContain('Audit trail: 3 entries, chain intact');
  });

  it('names the first broken link when an entry is edited, or removed', async () => {
    await withPg(dbs.targetUrl, (c) => c.query("UPDATE pgshift.audit_log SET outcome = 'failed' WHERE seq = 2"));
    const edited = runCli(['status', '-c', file, '--audit'], env);
    expect(edited.status).toBe(1);
    expect(edited.stderr).toContain(
      'Error [AUDIT_CHAIN_BROKEN]: the audit trail is broken at entry 2: its content does not match its hash (edited)',
    );
    await withPg(dbs.targetUrl, (c) => c.query("UPDATE pgshift.audit_log SET outcome = 'succeeded' WHERE seq = 2"));
    expect(runCli(['status', '-c', file, '--audit'], env).status).toBe(0);
    await withPg(dbs.targetUrl, (c) => c.query('DELETE FROM pgshift.audit_log WHERE seq = 1'));
    const removed = runCli(['status', '-c', file, '--audit'], env);
    expect(removed.status).toBe(1);
    expect(removed.stderr).toContain('broken at entry 2: expected entry 1 here: an entry was removed');
  });
});
