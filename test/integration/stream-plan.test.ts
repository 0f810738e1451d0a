/**
 * The change stream as plan objects, through the built CLI: plan shows the strategy and why, the publications and
 * the slot as one create_stream action and a finding per table without a usable replica identity; apply creates the
 * stream before any copy and records it; a re-plan has no stream action and shows the slot's WAL; re-apply keeps the
 * slot; replica_identity_full sets FULL first; an explicit stream after copies began is a blocker; under auto a
 * source role without REPLICATION falls back to freeze and says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamNames } from '../../src/stream/names.js';
import { runCliAsync } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, quoteIdent, withPg, type FreshDatabases } from '../support/databases.js';

const DDL = `
CREATE TABLE public.patients (id int PRIMARY KEY, mrn text);
CREATE TABLE public.audit (at timestamptz DEFAULT now(), line text);
INSERT INTO public.patients SELECT g, 'mrn-' || g FROM generate_series(1, 3000) g;
INSERT INTO public.audit (line) SELECT 'line ' || g FROM generate_series(1, 500) g;
`;

const cfg = configDir('stream-plan');
const pairs: FreshDatabases[] = [];
afterAll(async () => {
  for (const p of pairs) await p.drop(); // drops the databases' slots too
  cfg.remove();
});

async function pair(label: string): Promise<{ dbs: FreshDatabases; env: NodeJS.ProcessEnv }> {
  const dbs = await freshDatabases(label);
  pairs.push(dbs);
  await withPg(dbs.sourceUrl, (c) => c.query(DDL));
  return { dbs, env: { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl } };
}

async function sourceObjects(url: string, slot: string): Promise<{ slots: number; publications: string[] }> {
  return withPg(url, async (c) => {
    const s = await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    const p = await c.query<{ pubname: string }>(
      `SELECT pubname FROM pg_publication WHERE pubname LIKE 'pgshift\\_%' ORDER BY 1`,
    );
    return { slots: s.rowCount ?? 0, publications: p.rows.map((r) => r.pubname) };
  });
}

describe('strategy auto on a source that allows a stream', () => {
  let dbs: FreshDatabases;
  let env: NodeJS.ProcessEnv;
  let file: string;
  beforeAll(async () => {
    ({ dbs, env } = await pair('stream_plan'));
    file = cfg.write(minimalConfig('copy: { batch_size: 500 }\n'), 'auto.yaml');
  });

  it('plans the stream before the copies, applies it first, then plans no stream action and shows its WAL', async () => {
    const names = streamNames('test', dbs.name);
    const plan = await runCliAsync(['plan', '-c', file], env);
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('strategy: stream (cutover.strategy omitted and the source allows a change stream)');
    expect(plan.stdout).toContain(`+ publication ${names.publication} (1 tables)`);
    expect(plan.stdout).toContain(`+ publication ${names.insertsPublication} (1 tables, inserts only)`);
    expect(plan.stdout).toContain(`+ replication slot ${names.slot} (pgoutput)`);
    expect(plan.stdout).toMatch(/Warning \[STREAM_TABLE_WITHOUT_IDENTITY\]: table public\.audit .*inserts only/);
    expect(plan.stdout).toContain('ALTER TABLE "public"."audit" REPLICA IDENTITY FULL');
    // the stream is listed before every copy
    const at = plan.stdout.indexOf(`+ replication slot ${names.slot}`);
    expect(at).toBeLessThan(plan.stdout.indexOf('copy public.patients'));
    const json = JSON.parse((await runCliAsync(['plan', '-c', file, '--json'], env)).stdout) as {
      actions: Array<{ id: string; kind: string; dependsOn: string[] }>;
    };
    const copies = json.actions.filter((a) => a.kind === 'copy_table');
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) expect(c.dependsOn).toContain('stream');

    const applied = await runCliAsync(['apply', '-c', file, '--auto-approve'], env);
    expect(applied.status, applied.stderr + applied.stdout).toBe(0);
    expect(await sourceObjects(dbs.sourceUrl, names.slot)).toEqual({
      slots: 1,
      publications: [names.publication, names.insertsPublication],
    });
    const order = await withPg(dbs.targetUrl, (c) =>
      c.query<{ slot: string; consistent: string; before: boolean; units: number }>(
        `SELECT s.slot, s.consistent_lsn::text AS consistent,
                s.created_at < (SELECT min(started_at) FROM pgshift.migration_checkpoints) AS before,
                (SELECT count(*) FROM pgshift.migration_checkpoints)::int AS units
           FROM pgshift.stream s`,
      ),
    );
    expect(order.rows).toEqual([
      { slot: names.slot, consistent: expect.any(String), before: true, units: expect.any(Number) },
    ]);
    expect(order.rows[0]?.units).toBeGreaterThan(1);
    const slotLsn = await withPg(dbs.sourceUrl, (c) =>
      c.query<{ lsn: string }>(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [names.slot],
      ),
    );
    expect(slotLsn.rows[0]?.lsn).toBe(order.rows[0]?.consistent);

    const again = await runCliAsync(['plan', '-c', file], env);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain(`strategy: stream (the change stream exists (replication slot ${names.slot}))`);
    expect(again.stdout).toMatch(
      new RegExp(
        `replication slot ${names.slot}: retains [0-9.]+ (B|kiB|MiB) of WAL \\(wal_status (reserved|extended)`,
      ),
    );
    expect(again.stdout).not.toContain('+ replication slot');
    // re-apply keeps the slot (same consistent point)
    const reapplied = await runCliAsync(['apply', '-c', file, '--auto-approve'], env);
    expect(reapplied.status, reapplied.stderr + reapplied.stdout).toBe(0);
    const after = await withPg(dbs.targetUrl, (c) =>
      c.query('SELECT consistent_lsn::text AS consistent FROM pgshift.stream'),
    );
    expect(after.rows).toEqual([{ consistent: order.rows[0]?.consistent }]);
  });

  it('a slot past max_slot_retained is a warning; a slot gone from the source is a blocker that says how to recover', async () => {
    const names = streamNames('test', dbs.name);
    const tight = cfg.write(
      minimalConfig('copy: { batch_size: 500 }\ncutover:\n  stream: { max_slot_retained: 0B }\n'),
      'tight.yaml',
    );
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`INSERT INTO public.audit (line) SELECT 'more' FROM generate_series(1, 100)`),
    );
    const warned = await runCliAsync(['plan', '-c', tight], env);
    expect(warned.stdout).toContain('Warning [STREAM_SLOT_RETAINED]');
    await withPg(dbs.sourceUrl, (c) => c.query('SELECT pg_drop_replication_slot($1)', [names.slot]));
    const lost = await runCliAsync(['plan', '-c', file], env);
    expect(lost.stdout).toMatch(
      /Error \[STREAM_SLOT_LOST\]: replication slot \S+ is in pgshift's state but gone from the source/,
    );
    expect(lost.stdout).toContain('pgshift destroy');
  });
});

describe('other strategies', () => {
  it('replica_identity_full: sets FULL before the stream, and the keyless table is fully published', async () => {
    const { dbs, env } = await pair('stream_full');
    const names = streamNames('test', dbs.name);
    const file = cfg.write(
      minimalConfig('cutover:\n  strategy: stream\n  stream: { replica_identity_full: true }\n'),
      'full.yaml',
    );
    const plan = await runCliAsync(['plan', '-c', file], env);
    expect(plan.stdout).toContain('strategy: stream (cutover.strategy: stream)');
    expect(plan.stdout).toMatch(/~ replica identity of public\.audit\s+default -> full/);
    expect(plan.stdout).toContain(`+ publication ${names.publication} (2 tables)`);
    const applied = await runCliAsync(['apply', '-c', file, '--auto-approve'], env);
    expect(applied.status, applied.stderr + applied.stdout).toBe(0);
    const ident = await withPg(dbs.sourceUrl, (c) =>
      c.query(`SELECT relreplident FROM pg_class WHERE oid = 'public.audit'::regclass`),
    );
    expect(ident.rows).toEqual([{ relreplident: 'f' }]);
    const recorded = await withPg(dbs.targetUrl, (c) =>
      c.query('SELECT table_name, old_identity FROM pgshift.replica_identity'),
    );
    expect(recorded.rows).toEqual([{ table_name: 'audit', old_identity: 'd' }]);
    // the target's table reads the same: the next plan sees no drift and no stream action
    const target = await withPg(dbs.targetUrl, (c) =>
      c.query(`SELECT relreplident FROM pg_class WHERE oid = 'public.audit'::regclass`),
    );
    expect(target.rows).toEqual([{ relreplident: 'f' }]);
    const again = await runCliAsync(['plan', '-c', file], env);
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).not.toContain('OBJECT_DRIFT');
    expect(again.stdout).not.toContain('STREAM_TABLE_WITHOUT_IDENTITY');
  });

  it('copies begun before any stream: explicit stream blocks, auto falls back to freeze', async () => {
    const { dbs, env } = await pair('stream_late');
    const freeze = cfg.write(minimalConfig('cutover: { strategy: freeze }\n'), 'late-freeze.yaml');
    const applied = await runCliAsync(['apply', '-c', freeze, '--auto-approve'], env);
    expect(applied.status, applied.stderr + applied.stdout).toBe(0);
    expect(await sourceObjects(dbs.sourceUrl, streamNames('test', dbs.name).slot)).toEqual({
      slots: 0,
      publications: [],
    });
    await withPg(dbs.sourceUrl, (c) => c.query(`INSERT INTO public.patients VALUES (9999, 'late')`));
    const stream = cfg.write(minimalConfig('cutover: { strategy: stream }\n'), 'late-stream.yaml');
    const blocked = await runCliAsync(['plan', '-c', stream], env);
    expect(blocked.stdout).toMatch(
      /Error \[STREAM_NOT_AVAILABLE\]: copies of this migration began before any change stream/,
    );
    const auto = await runCliAsync(['plan', '-c', cfg.write(minimalConfig(), 'late-auto.yaml')], env);
    expect(auto.stdout).toContain('strategy: freeze (copies of this migration began before any change stream existed');
  });

  it('auto with a source role without REPLICATION: freeze, with the reason and its fix', async () => {
    const { dbs } = await pair('stream_norepl');
    const role = `${dbs.name}_app`;
    await withPg(dbs.sourceUrl, (c) =>
      c.query(
        `CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD 'pw'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${quoteIdent(role)}`,
      ),
    );
    try {
      const url = new URL(dbs.sourceUrl);
      url.username = role;
      url.password = 'pw';
      const env = { SOURCE_DATABASE_URL: url.toString(), TARGET_DATABASE_URL: dbs.targetUrl };
      const plan = await runCliAsync(['plan', '-c', cfg.write(minimalConfig(), 'norepl.yaml')], env);
      expect(plan.stdout).toContain(
        `strategy: freeze (the source does not allow a change stream: role ${role} may not replicate: ALTER ROLE ${role} REPLICATION`,
      );
      expect(plan.stdout).not.toContain('+ replication slot');
      const explicit = await runCliAsync(
        ['plan', '-c', cfg.write(minimalConfig('cutover: { strategy: stream }\n'), 'norepl-stream.yaml')],
        env,
      );
      expect(explicit.stdout).toMatch(
        /Error \[STREAM_NOT_AVAILABLE\]: the source does not allow a change stream: role \S+ may not replicate/,
      );
    } finally {
      await withPg(dbs.sourceAdminUrl, (c) =>
        c.query(`DROP OWNED BY ${quoteIdent(role)} CASCADE`).catch(() => undefined),
      );
    }
  });
});
