/**
 * The copy proves itself: each batch's digest is read on the source in the batch's snapshot and stored with its
 * checkpoint; the table is read back on the target after its last batch; apply's verification then proves the
 * table without reading the source again. A row that lands otherwise than it was read (a trigger on the target
 * changes it during the COPY) is found, by key; `pgshift verify` still compares both sides.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, type FreshDatabases, waitForSettled, withPg } from '../support/databases.js';

const cfg = configDir('copy-digest');

const SOURCE = `
CREATE SCHEMA "Clinic ""A""";
CREATE TYPE "Clinic ""A""".kind AS ENUM ('lab', 'vital');
CREATE TABLE "Clinic ""A"""."Obs ervations" (
  id bigint PRIMARY KEY, kind "Clinic ""A""".kind NOT NULL, value numeric, note text, at timestamptz
);
INSERT INTO "Clinic ""A"""."Obs ervations"
  SELECT i, CASE WHEN i % 2 = 0 THEN 'lab' ELSE 'vital' END::"Clinic ""A""".kind, i / 4.0, 'n' || i,
         '2026-01-01'::timestamptz + i * interval '1 minute'
    FROM generate_series(1, 2500) i;
CREATE TABLE "Clinic ""A""".log (line text, n int);
INSERT INTO "Clinic ""A""".log SELECT 'same', 1 FROM generate_series(1, 40);
CREATE TABLE "Clinic ""A""".parts (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE "Clinic ""A""".parts_n PARTITION OF "Clinic ""A""".parts FOR VALUES IN ('n');
CREATE TABLE "Clinic ""A""".parts_s PARTITION OF "Clinic ""A""".parts FOR VALUES IN ('s');
INSERT INTO "Clinic ""A""".parts SELECT i, CASE WHEN i % 3 = 0 THEN 's' ELSE 'n' END FROM generate_series(1, 900) i;
`;

interface Report {
  ok: boolean;
  tables: {
    table: string;
    checksum: string;
    proof?: string;
    differences: { kind: string; key?: Record<string, string> }[];
  }[];
}

async function lastReport(url: string): Promise<Report> {
  return withPg(url, async (c) => {
    const r = await c.query<{ report: Report }>(
      'SELECT report FROM pgshift.verifications ORDER BY started_at DESC LIMIT 1',
    );
    return r.rows[0]?.report as Report;
  });
}

describe('the copy digest', () => {
  let dbs: FreshDatabases;
  let env: NodeJS.ProcessEnv;
  let file: string;
  beforeAll(async () => {
    dbs = await freshDatabases('copy_digest');
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE));
    await waitForSettled(dbs.sourceUrl);
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
    file = cfg.write(minimalConfig('copy: { batch_size: 700, parallel: 2 }\nverify: { checksums: full }\n'), 'd.yaml');
  });
  afterAll(async () => {
    await dbs?.drop();
  });

  it('is stored per unit, read back after the copy, and proves every table in apply', async () => {
    const r = runCli(['apply', '-c', file, '--auto-approve'], env);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const units = await withPg(
      dbs.targetUrl,
      async (c) =>
        (
          await c.query<{ unit: string; rows_copied: string; digest_rows: string; verified: string | null }>(
            `SELECT unit, rows_copied::text, digest_rows::text, verified FROM pgshift.migration_checkpoints ORDER BY unit`,
          )
        ).rows,
    );
    expect(units.map((u) => [u.unit, u.digest_rows, u.verified])).toEqual([
      ['copy Clinic "A".Obs ervations', '2500', 'match'],
      ['copy Clinic "A".log', '40', 'match'],
      ['copy Clinic "A".parts_n', '600', 'match'],
      ['copy Clinic "A".parts_s', '300', 'match'],
    ]);
    const report = await lastReport(dbs.targetUrl);
    expect(report.ok).toBe(true);
    expect(report.tables.map((t) => [t.table, t.checksum, t.proof])).toEqual(
      expect.arrayContaining([
        ['Clinic "A".Obs ervations', 'match', 'copy-digest'],
        ['Clinic "A".log', 'match', 'copy-digest'],
        ['Clinic "A".parts_n', 'match', 'copy-digest'],
        ['Clinic "A".parts_s', 'match', 'copy-digest'],
      ]),
    );
  });

  it('leaves `pgshift verify` comparing both sides: a target changed after the copy is found by key', async () => {
    await withPg(dbs.targetUrl, (c) =>
      c.query(`UPDATE "Clinic ""A"""."Obs ervations" SET value = value + 1 WHERE id = 1234`),
    );
    const v = runCli(['verify', '-c', file, '--full', '--json'], env);
    expect(v.status, v.stdout + v.stderr).toBe(3);
    const t = (JSON.parse(v.stdout) as Report).tables.find((x) => x.table === 'Clinic "A".Obs ervations');
    expect(t?.proof).toBeUndefined();
    expect(t?.differences.map((d) => [d.kind, d.key?.id])).toEqual([['changed', '1234']]);
  });
});

describe('a row that lands otherwise than it was read', () => {
  let dbs: FreshDatabases;
  let env: NodeJS.ProcessEnv;
  let file: string;
  beforeAll(async () => {
    dbs = await freshDatabases('copy_digest_land');
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE));
    await waitForSettled(dbs.sourceUrl);
    // the table is on the target already, as the source has it, with a trigger that changes one row as it lands
    await withPg(dbs.targetUrl, (c) =>
      c.query(`
        CREATE SCHEMA "Clinic ""A""";
        CREATE TYPE "Clinic ""A""".kind AS ENUM ('lab', 'vital');
        CREATE TABLE "Clinic ""A"""."Obs ervations" (
          id bigint PRIMARY KEY, kind "Clinic ""A""".kind NOT NULL, value numeric, note text, at timestamptz
        );
        CREATE FUNCTION public.bend() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN IF NEW.id = 777 THEN NEW.value := NEW.value * 10; END IF; RETURN NEW; END $$;
        CREATE TRIGGER bend BEFORE INSERT ON "Clinic ""A"""."Obs ervations" FOR EACH ROW EXECUTE FUNCTION public.bend();
      `),
    );
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
    file = cfg.write(
      minimalConfig(
        'tables: { include: [\'Clinic "A".Obs ervations\'] }\ncopy: { batch_size: 700 }\nverify: { checksums: full }\n',
      ),
      'land.yaml',
    );
  });
  afterAll(async () => {
    await dbs?.drop();
  });

  it('is a mismatch of its unit, and apply fails naming the key', async () => {
    const r = runCli(['apply', '-c', file, '--auto-approve'], env);
    expect(r.status, r.stdout + r.stderr).toBe(3);
    const verified = await withPg(dbs.targetUrl, async (c) =>
      (await c.query<{ verified: string }>(`SELECT verified FROM pgshift.migration_checkpoints`)).rows.map(
        (x) => x.verified,
      ),
    );
    expect(verified).toEqual(['mismatch']);
    const report = await lastReport(dbs.targetUrl);
    const t = report.tables.find((x) => x.table === 'Clinic "A".Obs ervations');
    expect(t?.proof).toBeUndefined();
    expect(t?.differences.map((d) => [d.kind, d.key?.id])).toEqual([['changed', '777']]);
  });
});
