/**
 * Keys that are patient data (an MRN) never reach a report or the state as a value, nor as a plain hash that
 * brute-forces: verify names them by an HMAC keyed by the migration's secret (PGSHIFT_KEY_SECRET, else a 0600 file
 * next to the config that git ignores), the same in every run with that secret; a batch the target rejects is
 * recorded in the state (checkpoint and run) without the key value a trigger's message or a server message quotes.
 */
import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, type FreshDatabases, waitForSettled, withPg } from '../support/databases.js';

const MRN_TAMPERED = 'MRN-0000777';
const MRN_MISSING = 'MRN-0000042';
const MRN_REJECTED = 'MRN-0000444';
const mrn = (i: number): string => `MRN-${String(i).padStart(7, '0')}`;

const SOURCE_SQL = `
CREATE SCHEMA clinic;
CREATE TABLE clinic.patients (mrn text PRIMARY KEY, name text NOT NULL, born date);
INSERT INTO clinic.patients SELECT 'MRN-' || lpad(g::text, 7, '0'), 'patient ' || g, date '1950-01-01' + g FROM generate_series(1, 1000) g;
`;

interface Diff {
  kind: string;
  key?: Record<string, string>;
  keyHash?: string;
  columns?: string[];
}
interface Report {
  ok: boolean;
  tables: { table: string; differences: Diff[] }[];
}

const sha16 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);

describe('keys that are not shown', () => {
  const cfg = configDir('key-privacy');
  let dbs: FreshDatabases;
  let file: string;
  let env: NodeJS.ProcessEnv;
  const secretFile = (): string => join(cfg.dir, '.pgshift', 'key-secret');

  beforeAll(async () => {
    dbs = await freshDatabases('key_privacy');
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE_SQL));
    file = cfg.write(
      minimalConfig('verify: { checksums: full }\n').replace('name: test', 'name: clinic-mrn'),
      'migration.yaml',
    );
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
    await waitForSettled(dbs.sourceUrl); // the rows tampered with below must read as not written since the copy
    const r = runCli(['apply', '-c', file, '--auto-approve'], env);
    if (r.status !== 0) throw new Error(r.stdout + r.stderr);
    await withPg(dbs.targetUrl, async (c) => {
      await c.query(`UPDATE clinic.patients SET name = 'changed on the target' WHERE mrn = $1`, [MRN_TAMPERED]);
      await c.query('DELETE FROM clinic.patients WHERE mrn = $1', [MRN_MISSING]);
    });
  });
  afterAll(async () => {
    await dbs?.drop();
    cfg.remove();
  });

  const hashes = (report: Report): Diff[] =>
    report.tables.find((t) => t.table === 'clinic.patients')?.differences ?? [];

  it('are an HMAC with a secret kept next to the config (0600, ignored by git): no value, no plain SHA-256, the same in every run', async () => {
    const r1 = runCli(['verify', '-c', file, '--json'], env);
    expect(r1.status, r1.stderr).toBe(3);
    expect(existsSync(secretFile())).toBe(true);
    expect(statSync(secretFile()).mode & 0o777).toBe(0o600);
    expect(statSync(join(cfg.dir, '.pgshift')).mode & 0o077).toBe(0);
    expect(readFileSync(join(cfg.dir, '.pgshift', '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    const secret = readFileSync(secretFile(), 'utf8').trim();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);

    const d1 = hashes(JSON.parse(r1.stdout) as Report);
    expect(d1.map((d) => d.kind).sort()).toEqual(['changed', 'missing']);
    for (const d of d1) {
      expect(d.key).toBeUndefined();
      expect(d.keyHash).toMatch(/^[0-9a-f]{16}$/);
    }
    // not the plain SHA-256 of the value or of its row text: those are found by trying every MRN
    for (const value of [MRN_TAMPERED, MRN_MISSING]) {
      for (const text of [value, `(${value})`, JSON.stringify({ mrn: value })])
        expect(d1.map((d) => d.keyHash)).not.toContain(sha16(text));
    }
    // the HMAC of the key's row text, keyed by the migration's key derived from the file's secret
    const key = createHmac('sha256', secret).update('pgshift key hash v1\u0000clinic-mrn').digest();
    const hmac = (v: string): string => createHmac('sha256', key).update(`(${v})`).digest('hex').slice(0, 16);
    expect(d1.find((d) => d.kind === 'changed')?.keyHash).toBe(hmac(MRN_TAMPERED));
    expect(d1.find((d) => d.kind === 'missing')?.keyHash).toBe(hmac(MRN_MISSING));

    // a second run (another process) reads the same secret: the same hashes; the text view shows them too
    const r2 = runCli(['verify', '-c', file, '--json'], env);
    expect(hashes(JSON.parse(r2.stdout) as Report)).toEqual(d1);
    const text = runCli(['verify', '-c', file], env);
    expect(text.status).toBe(3);
    expect(text.stdout).toContain(`key #${hmac(MRN_TAMPERED)}`);

    const stored = await withPg(dbs.targetUrl, async (c) =>
      JSON.stringify((await c.query('SELECT * FROM pgshift.verifications')).rows),
    );
    expect(stored).toContain(hmac(MRN_MISSING));
    for (const out of [r1.stdout, r1.stderr, r2.stdout, text.stdout, text.stderr, stored]) {
      expect(out).not.toContain('MRN-');
      expect(out).not.toContain(secret);
    }
    // --show-values prints the keys; the state still keeps only hashes (HMACs too)
    const shown = runCli(['verify', '-c', file, '--json', '--show-values'], env);
    expect(
      hashes(JSON.parse(shown.stdout) as Report)
        .map((d) => d.key?.mrn)
        .sort(),
    ).toEqual([MRN_MISSING, MRN_TAMPERED]);
    const last = await withPg(dbs.targetUrl, async (c) =>
      JSON.stringify((await c.query('SELECT report FROM pgshift.verifications ORDER BY started_at DESC LIMIT 1')).rows),
    );
    expect(last).not.toContain('MRN-');
    expect(last).not.toContain(sha16(JSON.stringify({ mrn: MRN_MISSING })));
    expect(last).toMatch(/"keyHash":"[0-9a-f]{16}"/);
    // the same hash as a run without the flag: stored reports name a key alike either way
    expect(last).toContain(hmac(MRN_MISSING));
  });

  it('follow PGSHIFT_KEY_SECRET when it is set (a CI secret), and that secret is never printed', () => {
    const ciSecret = 'ci-secret-for-key-hashes-0123456789';
    const withSecret = { ...env, PGSHIFT_KEY_SECRET: ciSecret };
    const r = runCli(['verify', '-c', file, '--json', '--log-level', 'debug'], withSecret);
    expect(r.status, r.stderr).toBe(3);
    const key = createHmac('sha256', ciSecret).update('pgshift key hash v1\u0000clinic-mrn').digest();
    const expected = createHmac('sha256', key).update(`(${MRN_TAMPERED})`).digest('hex').slice(0, 16);
    expect(hashes(JSON.parse(r.stdout) as Report).find((d) => d.kind === 'changed')?.keyHash).toBe(expected);
    expect(r.stdout + r.stderr).not.toContain(ciSecret);
    // another migration with the same secret names the same key differently
    const other = cfg.write(
      minimalConfig('verify: { checksums: full }\n').replace('name: test', 'name: other-migration'),
      'other.yaml',
    );
    const o = runCli(['verify', '-c', other, '--json'], withSecret);
    expect(hashes(JSON.parse(o.stdout) as Report).find((d) => d.kind === 'changed')?.keyHash).not.toBe(expected);
    // too short a secret is refused before anything is hashed with it
    const weak = runCli(['verify', '-c', file], { ...env, PGSHIFT_KEY_SECRET: 'short' });
    expect(weak.status).toBe(1);
    expect(weak.stderr).toContain('Error [CONFIG_INVALID]');
  });
});

describe('a batch the target rejects', () => {
  const cfg = configDir('key-privacy-reject');
  let dbs: FreshDatabases;

  beforeAll(async () => {
    dbs = await freshDatabases('key_privacy_reject');
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE_SQL));
    // the same table on the target, with a trigger whose message quotes the key (as application triggers do)
    await withPg(dbs.targetUrl, (c) =>
      c.query(`
        CREATE SCHEMA clinic;
        CREATE TABLE clinic.patients (mrn text PRIMARY KEY, name text NOT NULL, born date);
        CREATE FUNCTION clinic.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.mrn = '${MRN_REJECTED}' THEN RAISE EXCEPTION 'patient % (born %) refused', NEW.mrn, NEW.born; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON clinic.patients FOR EACH ROW EXECUTE FUNCTION clinic.refuse();`),
    );
  });
  afterAll(async () => {
    await dbs?.drop();
    cfg.remove();
  });

  it('is recorded in the checkpoint and the run without any key value, naming the batch and the trigger function', async () => {
    const file = cfg.write(
      minimalConfig('copy: { batch_size: 100, parallel: 1 }\ntables: { include: ["clinic.*"] }\n'),
    );
    const r = runCli(['apply', '-c', file, '--auto-approve'], {
      SOURCE_DATABASE_URL: dbs.sourceUrl,
      TARGET_DATABASE_URL: dbs.targetUrl,
    });
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /copy clinic\.patients: the target rejected a row in the batch after \d+ rows: an exception raised by a trigger or function, in function (clinic\.)?refuse\(\) line \d+ \(SQLSTATE P0001\)/,
    );
    const state = await withPg(dbs.targetUrl, async (c) => ({
      checkpoint: (
        await c.query<{ status: string; error: string }>(
          `SELECT status, error FROM pgshift.migration_checkpoints WHERE unit = 'copy clinic.patients'`,
        )
      ).rows[0],
      runs: (await c.query<{ status: string; error: string | null }>(`SELECT status, error FROM pgshift.runs`)).rows,
    }));
    expect(state.checkpoint?.status).toBe('failed');
    expect(state.checkpoint?.error).toMatch(/the batch after \d+ rows/);
    expect(state.runs.find((x) => x.status === 'failed')?.error).toContain('SQLSTATE P0001');
    for (const out of [r.stdout, r.stderr, JSON.stringify(state)]) {
      expect(out).not.toContain('MRN-');
      expect(out).not.toMatch(/19\d\d-\d\d-\d\d/);
      expect(out).not.toContain('refused');
    }
    expect(mrn(444)).toBe(MRN_REJECTED);
  });
});
