/**
 * Verification against real servers: a clean migration verifies; tampering on the target is found with the exact
 * key (or row hash) and kind, for single-column, composite, partitioned and keyless tables; sequences, indexes,
 * policies and RLS flags are checked; no column value is printed; the seed decides the sample.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspect } from '../../src/catalog/introspect.js';
import { sampleKeys } from '../../src/verify/sample.js';
import { VERIFY_SESSION_SQL } from '../../src/verify/expressions.js';
import { runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { copyDatasetSql } from '../support/datasets.js';
import { freshDatabases, type FreshDatabases, waitForSettled, withPg } from '../support/databases.js';

const cfg = configDir('verify');
let dbs: FreshDatabases;
let file: string;
let env: NodeJS.ProcessEnv;

const EXTRA = `
CREATE TABLE data.events (kind text, n int);
INSERT INTO data.events VALUES ('a', 1), ('a', 1), ('a', 1), ('b', 2), ('b', 2), ('c', 3);
CREATE TABLE data.visits (id serial PRIMARY KEY, note text);
INSERT INTO data.visits (note) SELECT 'visit ' || i FROM generate_series(1, 100) i;
ALTER TABLE data.codes ENABLE ROW LEVEL SECURITY;
CREATE POLICY p_read ON data.codes FOR SELECT USING (true);
`;

interface Report {
  ok: boolean;
  tables: {
    table: string;
    rowsSource: number;
    rowsTarget: number;
    checksum: string;
    differences: {
      kind: string;
      key?: Record<string, string>;
      keyHash?: string;
      rowHash?: string;
      count?: number;
      columns?: string[];
    }[];
  }[];
  schema: { address: string; kind: string }[];
}

beforeAll(async () => {
  dbs = await freshDatabases('verify');
  await withPg(dbs.sourceUrl, (c) => c.query(copyDatasetSql(5_000) + EXTRA));
  file = cfg.write(
    minimalConfig('copy: { batch_size: 1000, parallel: 2 }\nverify: { checksums: full }\n'),
    'verify.yaml',
  );
  env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
  await waitForSettled(dbs.sourceUrl); // rows tampered with later must read as not written since the copy
  const r = runCli(['apply', '-c', file, '--auto-approve'], env);
  if (r.status !== 0) throw new Error(r.stderr);
});
afterAll(async () => {
  await dbs?.drop();
  cfg.remove();
});

describe('pgshift verify', () => {
  it('passes after a clean migration (exit 0), with text and JSON views, and stores the report', async () => {
    const r = runCli(['verify', '-c', file, '--full'], env);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Verification PASSED');
    const j = runCli(['verify', '-c', file, '--json'], env);
    const report = JSON.parse(j.stdout) as Report;
    expect(report.ok).toBe(true);
    expect(report.tables.find((t) => t.table === 'data.patients')).toMatchObject({
      rowsSource: 5000,
      rowsTarget: 5000,
      checksum: 'match',
    });
    const stored = await withPg(dbs.targetUrl, async (c) =>
      (await c.query<{ result: string }>('SELECT result FROM pgshift.verifications ORDER BY started_at')).rows.map(
        (x) => x.result,
      ),
    );
    expect(stored).toEqual(['passed', 'passed', 'passed']); // apply's own gate, then the two above
  });

  it('finds every row tampered with, names the key and kind, and prints no value (exit 3)', async () => {
    await withPg(dbs.targetUrl, async (c) => {
      await c.query('SET session_replication_role = replica'); // let the test break foreign keys
      await c.query('DELETE FROM data.patients WHERE id = 42');
      await c.query(`INSERT INTO data.patients (id, name) VALUES (999999, 'intruder')`);
      await c.query(`UPDATE data.patients SET notes = 'TAMPERED-VALUE-XYZ' WHERE id = 7`);
      await c.query('DELETE FROM data.observations WHERE patient_id = 11 AND seq = 10');
      await c.query(`UPDATE data.encounters SET note = 'TAMPERED-PARTITION' WHERE id = 100`);
      await c.query(`INSERT INTO data.events VALUES ('c', 3)`);
      await c.query(`DELETE FROM data.events WHERE ctid = (SELECT ctid FROM data.events WHERE kind = 'a' LIMIT 1)`);
    });
    const r = runCli(['verify', '-c', file, '--json'], env);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toContain('Error [VERIFY_DIFFERENCES]');
    const report = JSON.parse(r.stdout) as Report;
    const diffs = (table: string) => report.tables.find((t) => t.table === table)?.differences ?? [];
    expect(diffs('data.patients')).toEqual(
      expect.arrayContaining([
        // rows tampered with on the target were not written on the source since the copy (by xmin): copy errors
        { kind: 'missing', key: { id: '42' }, cause: 'copy-error' },
        // a key only on the target is what a delete on the live source leaves: pending the final sync, not a failure
        { kind: 'extra', key: { id: '999999' }, cause: 'gone-from-source' },
        { kind: 'changed', key: { id: '7' }, columns: ['notes'], cause: 'copy-error' },
      ]),
    );
    expect(diffs('data.patients')).toHaveLength(3);
    expect(diffs('data.observations')).toEqual([
      { kind: 'missing', key: { patient_id: '11', seq: '10' }, cause: 'copy-error' },
    ]);
    const encounter = report.tables.filter((t) => t.table.startsWith('data.encounters_')).flatMap((t) => t.differences);
    // a key with a date column may be patient data (a birth date): shown as a hash unless --show-values
    expect(encounter).toEqual([
      {
        kind: 'changed',
        keyHash: expect.stringMatching(/^[0-9a-f]{16}$/) as unknown as string,
        columns: ['note'],
        cause: 'copy-error',
      },
    ]);
    const shown = JSON.parse(runCli(['verify', '-c', file, '--json', '--show-values'], env).stdout) as Report;
    const shownEncounter = shown.tables
      .filter((t) => t.table.startsWith('data.encounters_'))
      .flatMap((t) => t.differences);
    expect(shownEncounter[0]?.key).toEqual({
      id: '100',
      at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) as unknown as string,
    });
    const events = diffs('data.events');
    expect(events.map((d) => `${d.kind} x${d.count}`).sort()).toEqual(['duplicate x1', 'missing x1']);
    expect(events.every((d) => /^-?\d+$/.test(d.rowHash ?? ''))).toBe(true);
    const text = runCli(['verify', '-c', file], env);
    expect(text.status).toBe(3);
    expect(text.stdout).toContain('data.patients: missing on the target: id=42');
    expect(text.stdout).toContain('data.patients: changed: id=7 (column notes)');
    for (const out of [r.stdout, r.stderr, text.stdout, text.stderr]) {
      expect(out).not.toContain('TAMPERED');
      expect(out).not.toContain('intruder');
    }
    const stored = await withPg(
      dbs.targetUrl,
      async (c) =>
        (await c.query<{ report: unknown }>("SELECT report FROM pgshift.verifications WHERE result = 'failed'")).rows,
    );
    expect(JSON.stringify(stored)).not.toMatch(/TAMPERED|intruder/);
  });

  it('finds a sequence moved back, a missing index, a missing policy and RLS switched off', async () => {
    await withPg(dbs.targetUrl, async (c) => {
      await c.query("SELECT setval('data.visits_id_seq', 5)");
      await c.query('DROP INDEX data.patients_name_idx');
      await c.query('DROP POLICY p_read ON data.codes');
      await c.query('ALTER TABLE data.codes DISABLE ROW LEVEL SECURITY');
    });
    const r = runCli(['verify', '-c', file, '--json'], env);
    expect(r.status).toBe(3);
    const report = JSON.parse(r.stdout) as Report;
    const schema = report.schema.map((d) => `${d.kind} ${d.address}`);
    expect(schema).toEqual(
      expect.arrayContaining([
        // (the source is ahead of the target's value, as on a live source: the parity check leaves that to the
        // cutover; the target's own rows say the sequence is behind)
        'sequence_behind sequence data.visits_id_seq',
        'missing index data.patients_name_idx',
        'missing policy data.codes.p_read',
      ]),
    );
    expect(schema.some((s) => s.endsWith('rls data.codes'))).toBe(true);
  });
});

describe('seeded samples', () => {
  it('the same seed picks the same keys twice; another seed picks others', async () => {
    const catalog = await withPg(dbs.sourceUrl, (c) => introspect(c));
    const patients = catalog.tables.find((t) => t.schema === 'data' && t.name === 'patients');
    if (!patients) throw new Error('no patients table');
    const pick = (seed: number) =>
      withPg(dbs.sourceUrl, async (source) => {
        await source.query(VERIFY_SESSION_SQL);
        return sampleKeys(patients, { source, target: source }, { percent: 2, minRows: 10, maxRows: 1000, seed });
      });
    const [a, b, c] = [await pick(42), await pick(42), await pick(7)];
    expect(a.length).toBeGreaterThan(50);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(c.filter((k) => a.includes(k)).length).toBeLessThan(a.length / 2);
  });
});

describe('the verification gate', () => {
  it('apply re-runs a failed verification and exits 3; cutover refuses while it fails', () => {
    // the target was tampered with above and the last verification failed: apply repairs the schema objects
    // it can (index, policy, RLS, sequence) and runs the gate again, which still finds the rows
    const plan = runCli(['plan', '-c', file], env);
    expect(plan.stdout).toMatch(/\+ index data\.patients_name_idx/);
    expect(plan.stdout).toMatch(/~ verify\s+row counts, checksums full/);
    const r = runCli(['apply', '-c', file, '--auto-approve'], env);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toContain('Error [VERIFY_DIFFERENCES]');
    const c = runCli(['cutover', '-c', file, '--auto-approve'], env);
    expect(c.status).toBe(1);
    expect(c.stderr).toMatch(
      /Error \[CUTOVER_NOT_READY\]: cutover refused: the last verification \(.*\) found differences/,
    );
  });

  it('apply ends with a passing verification; cutover refuses once it is older than the last change', async () => {
    const fresh = await freshDatabases('verify_gate');
    try {
      await withPg(fresh.sourceUrl, (c) => c.query(copyDatasetSql(1_000)));
      const e = { SOURCE_DATABASE_URL: fresh.sourceUrl, TARGET_DATABASE_URL: fresh.targetUrl };
      const f = cfg.write(minimalConfig('verify: { checksums: full }\n'), 'gate.yaml');
      const first = runCli(['plan', '-c', f], e);
      expect(first.stdout).toMatch(/~ verify\s+row counts, checksums full\n/);
      const applied = runCli(['apply', '-c', f, '--auto-approve'], e);
      expect(applied.status, applied.stderr).toBe(0);
      const again = runCli(['plan', '-c', f, '--detailed-exitcode'], e);
      expect(again.status, again.stdout).toBe(0);
      // pgshift changes the target after that verification (a unit re-copied): the verification is stale
      await withPg(fresh.targetUrl, (c) =>
        c.query(
          "UPDATE pgshift.migration_checkpoints SET updated_at = clock_timestamp() WHERE unit = 'copy data.codes'",
        ),
      );
      const stale = runCli(['cutover', '-c', f, '--auto-approve'], e);
      expect(stale.status).toBe(1);
      expect(stale.stderr).toMatch(/CUTOVER_NOT_READY.*is older than the last change pgshift made to the target/);
      // a fresh passing verification lets the cutover through
      expect(runCli(['verify', '-c', f], e).status).toBe(0);
      const ready = runCli(['cutover', '-c', f, '--auto-approve'], e);
      expect(ready.status, ready.stderr).toBe(0);
      expect(ready.stdout).toContain('Cutover complete!');
    } finally {
      await fresh.drop();
    }
  });
});

describe('live sources', () => {
  it('tells rows changed on the source since the copy from rows copied wrong, by the updated_at column', async () => {
    const live = await freshDatabases('verify_live');
    try {
      await withPg(live.sourceUrl, (c) =>
        c.query(`CREATE TABLE appts (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
                 INSERT INTO appts (id, note, updated_at) SELECT i, 'n' || i, now() - interval '1 day' FROM generate_series(1, 2000) i;`),
      );
      const e = { SOURCE_DATABASE_URL: live.sourceUrl, TARGET_DATABASE_URL: live.targetUrl };
      const f = cfg.write(minimalConfig('verify: { checksums: full, updated_at_column: updated_at }\n'), 'live.yaml');
      expect(runCli(['apply', '-c', f, '--auto-approve'], e).status).toBe(0);
      await withPg(live.sourceUrl, (c) =>
        c.query(
          `UPDATE appts SET note = 'edited', updated_at = now() WHERE id = 10; INSERT INTO appts (id, note) VALUES (5000, 'new')`,
        ),
      );
      await withPg(live.targetUrl, (c) => c.query(`UPDATE appts SET note = 'corrupted' WHERE id = 20`));
      const r = runCli(['verify', '-c', f, '--json'], e);
      expect(r.status).toBe(3);
      const diffs = (JSON.parse(r.stdout) as Report).tables[0]?.differences ?? [];
      expect(diffs).toEqual(
        expect.arrayContaining([
          { kind: 'changed', key: { id: '10' }, columns: ['note', 'updated_at'], cause: 'changed-since-copy' },
          { kind: 'missing', key: { id: '5000' }, cause: 'changed-since-copy' },
          { kind: 'changed', key: { id: '20' }, columns: ['note'], cause: 'copy-error' },
        ]),
      );
      const text = runCli(['verify', '-c', f], e);
      expect(text.stdout).toContain('changed: id=20 (column note) — NOT written since the copy: a wrong copy');
      // once the wrong copy is repaired, what is left is explained by the live source: the verification passes
      await withPg(live.targetUrl, (c) => c.query(`UPDATE appts SET note = 'n20' WHERE id = 20`));
      const passed = runCli(['verify', '-c', f], e);
      expect(passed.status, passed.stdout).toBe(0);
      expect(passed.stdout).toContain('Verification PASSED');
      expect(passed.stdout).toContain(
        "The source is live: 2 row(s) written on the source since their table's copy. The target holds what the source held when each table was copied; the cutover's catch-up and final sync carry them",
      );
      // a row deleted on the source leaves no trace to explain it by, but only live writes leave a key on the target
      // alone: it is pending the final sync (named and counted), not a failure
      await withPg(live.sourceUrl, (c) => c.query('DELETE FROM appts WHERE id = 30'));
      const deleted = runCli(['verify', '-c', f], e);
      expect(deleted.status, deleted.stdout).toBe(0);
      expect(deleted.stdout).toContain(
        'extra on the target: id=30 — gone from the source since the copy (deleted or rewritten): pending the final sync',
      );
      expect(deleted.stdout).toContain(
        '1 row(s) gone from the source since the copy, pending the final sync (public.appts: 1)',
      );
    } finally {
      await live.drop();
    }
  });
});
