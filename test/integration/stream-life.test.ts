/**
 * The change stream's life after apply: doctor checks wal_level, the REPLICATION attribute, free slots and senders
 * and the slot's WAL; destroy lists and drops the slot and publications, puts back the replica identity pgshift set,
 * and afterwards the source's pg_replication_slots and pg_publication hold nothing of pgshift's; a slot created but
 * never recorded (a crash between the two) is found by its name and dropped too.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createStream, streamNames } from '../../src/stream/slot.js';
import { runCliAsync } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { readSlotActively } from '../support/slot-reader.js';
import { freshDatabases, quoteIdent, withPg, type FreshDatabases } from '../support/databases.js';

const DDL = `
CREATE TABLE public.patients (id int PRIMARY KEY, mrn text);
CREATE TABLE public.audit (line text);
INSERT INTO public.patients SELECT g, 'mrn-' || g FROM generate_series(1, 1000) g;
INSERT INTO public.audit SELECT 'line ' || g FROM generate_series(1, 100) g;
`;

const cfg = configDir('stream-life');
const pairs: FreshDatabases[] = [];
afterAll(async () => {
  for (const p of pairs) await p.drop();
  cfg.remove();
});

async function pair(label: string): Promise<{ dbs: FreshDatabases; env: NodeJS.ProcessEnv }> {
  const dbs = await freshDatabases(label);
  pairs.push(dbs);
  await withPg(dbs.sourceUrl, (c) => c.query(DDL));
  return { dbs, env: { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl } };
}

/** pgshift's objects on the source of this database (slots of the database, publications named pgshift_*). */
async function leftovers(url: string): Promise<{ slots: string[]; publications: string[] }> {
  return withPg(url, async (c) => {
    const s = await c.query<{ n: string }>(
      `SELECT slot_name AS n FROM pg_replication_slots WHERE database = current_database() ORDER BY 1`,
    );
    const p = await c.query<{ n: string }>(`SELECT pubname AS n FROM pg_publication ORDER BY 1`);
    return { slots: s.rows.map((r) => r.n), publications: p.rows.map((r) => r.n) };
  });
}

interface DoctorJson {
  checks: Array<{ code?: string; status: string; message: string; hint?: string }>;
}

describe('doctor and destroy with a change stream', () => {
  it('doctor checks the stream settings and the slot; destroy drops everything and restores the identity', async () => {
    const { dbs, env } = await pair('stream_life');
    const names = streamNames('test', dbs.name);
    const file = cfg.write(
      minimalConfig('cutover:\n  strategy: stream\n  stream: { replica_identity_full: true }\n'),
      'life.yaml',
    );
    const applied = await runCliAsync(['apply', '-c', file, '--auto-approve'], env);
    expect(applied.status, applied.stderr + applied.stdout).toBe(0);
    expect(await leftovers(dbs.sourceUrl)).toEqual({
      slots: [names.slot],
      publications: [names.publication],
    });

    const doctor = await runCliAsync(['doctor', '-c', file, '--json'], env);
    const report = JSON.parse(doctor.stdout) as DoctorJson;
    const status = Object.fromEntries(
      report.checks.filter((c) => c.code?.startsWith('STREAM_')).map((c) => [c.code, c.status]),
    );
    expect(status).toEqual({
      STREAM_WAL_LEVEL_LOGICAL: 'ok',
      STREAM_REPLICATION_ROLE: 'ok',
      STREAM_SLOTS_FREE: 'ok',
      STREAM_WAL_SENDERS_FREE: 'ok',
      STREAM_SLOT_OK: 'ok',
    });
    expect(report.checks.find((c) => c.code === 'STREAM_SLOT_OK')?.message).toMatch(
      new RegExp(`replication slot ${names.slot} retains .* of WAL \\(wal_status (reserved|extended)`),
    );

    const destroyed = await runCliAsync(['destroy', '-c', file, '--auto-approve'], env);
    expect(destroyed.status, destroyed.stderr + destroyed.stdout).toBe(0);
    expect(destroyed.stdout).toContain(`  - replication slot ${names.slot}\n  - publication ${names.publication}\n`);
    expect(destroyed.stdout).toContain('  ~ replica identity of public.audit: full -> default');
    expect(destroyed.stdout).toMatch(/Plan: 0 to add, 0 to resume, 1 to change, \d+ to destroy\./);
    expect(await leftovers(dbs.sourceUrl)).toEqual({ slots: [], publications: [] });
    const ident = await withPg(dbs.sourceUrl, (c) =>
      c.query(`SELECT relreplident FROM pg_class WHERE oid = 'public.audit'::regclass`),
    );
    expect(ident.rows).toEqual([{ relreplident: 'd' }]);
  });

  it('destroy finds a slot the state never recorded by its name; refuses while someone else reads it, then drops it', async () => {
    const { dbs, env } = await pair('stream_orphan');
    const names = streamNames('test', dbs.name);
    const file = cfg.write(minimalConfig('cutover: { strategy: freeze }\n'), 'orphan.yaml');
    const applied = await runCliAsync(['apply', '-c', file, '--auto-approve'], env);
    expect(applied.status, applied.stderr + applied.stdout).toBe(0);
    const source = new pg.Client({ connectionString: dbs.sourceUrl });
    await source.connect();
    try {
      await createStream(source, names, [{ schema: 'public', name: 'patients', mode: 'all' }], { waitMs: 120_000 });
    } finally {
      await source.end();
    }
    // read by a process that is not pgshift's: destroy keeps the slot, says so, and keeps the state
    const reader = await readSlotActively(dbs.sourceUrl, names.slot, names.publication, 'someone-else');
    try {
      const refused = await runCliAsync(['destroy', '-c', file, '--auto-approve', '--json'], env);
      expect(refused.status).toBe(1);
      const out = JSON.parse(refused.stdout) as { status: string; stream: string; kept: Array<{ reason: string }> };
      expect(out).toMatchObject({ status: 'partial', stream: 'kept' });
      expect(out.kept.map((k) => k.reason).join()).toContain(`in use on the source by pid ${reader.pid}`);
      const state = await withPg(dbs.targetUrl, (c) =>
        c.query(`SELECT to_regnamespace('pgshift') IS NOT NULL AS kept`),
      );
      expect(state.rows).toEqual([{ kept: true }]);
    } finally {
      await reader.stop();
    }
    await withPg(dbs.sourceUrl, async (c) => {
      for (let i = 0; i < 300; i++) {
        const r = await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [names.slot]);
        if (r.rowCount === 0) return;
        await new Promise((res) => setTimeout(res, 100));
      }
    });
    const destroyed = await runCliAsync(['destroy', '-c', file, '--auto-approve'], env);
    expect(destroyed.status, destroyed.stderr + destroyed.stdout).toBe(0);
    expect(destroyed.stdout).toContain(`  - replication slot ${names.slot}`);
    expect(await leftovers(dbs.sourceUrl)).toEqual({ slots: [], publications: [] });
  });

  it('doctor blocks an explicit stream for a role without REPLICATION and names the fix', async () => {
    const { dbs } = await pair('stream_doctor');
    const role = `${dbs.name}_app`;
    await withPg(dbs.sourceUrl, (c) => c.query(`CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD 'pw'`));
    try {
      const url = new URL(dbs.sourceUrl);
      url.username = role;
      url.password = 'pw';
      const env = { SOURCE_DATABASE_URL: url.toString(), TARGET_DATABASE_URL: dbs.targetUrl };
      const explicit = cfg.write(minimalConfig('cutover: { strategy: stream }\n'), 'doctor-stream.yaml');
      const r = await runCliAsync(['doctor', '-c', explicit, '--json'], env);
      const check = (JSON.parse(r.stdout) as DoctorJson).checks.find((c) => c.code === 'STREAM_REPLICATION_MISSING');
      expect(check).toMatchObject({ status: 'block', hint: expect.stringContaining(`ALTER ROLE ${role} REPLICATION`) });
      expect(r.status).toBe(1);
      const auto = await runCliAsync(['doctor', '-c', cfg.write(minimalConfig(), 'doctor-auto.yaml'), '--json'], env);
      const warn = (JSON.parse(auto.stdout) as DoctorJson).checks.find((c) => c.code === 'STREAM_REPLICATION_MISSING');
      expect(warn?.status).toBe('warn');
    } finally {
      await withPg(dbs.sourceAdminUrl, (c) =>
        c.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`).catch(() => undefined),
      );
    }
  });
});
