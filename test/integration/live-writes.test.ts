/**
 * A live source written throughout `apply` and `cutover` (issue 11, items 1 and 2): rows inserted into a keyless,
 * append-only table and updates of keyed rows are explained by the source's xmin; deletes (keyed or keyless) and
 * updates of keyless rows, which xmin cannot explain, are reported as pending the final sync and neither fail apply
 * nor block a `require_verified` cutover; the final sync makes the target equal to the frozen source (the keyless
 * tables as multisets, duplicates kept) with every acknowledged write on it.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliAsync } from '../e2e/cli.js';
import { expectSameData } from '../support/compare.js';
import { configDir, minimalConfig, type ConfigDir } from '../support/config.js';
import { freshDatabases, waitForSettled, withPg, type FreshDatabases } from '../support/databases.js';
import { writeFileSync } from 'node:fs';

const S = '"Live ""Clinic"""';

const SOURCE_SQL = `
CREATE SCHEMA ${S};
CREATE TABLE ${S}.patients (id bigserial PRIMARY KEY, name text NOT NULL, notes text);
CREATE TABLE ${S}.audit_log (at timestamptz NOT NULL DEFAULT now(), actor text, action text);
CREATE TABLE ${S}.notes (patient bigint, body text);
INSERT INTO ${S}.patients (name) SELECT 'patient ' || g FROM generate_series(1, 30000) g;
INSERT INTO ${S}.audit_log (at, actor, action) SELECT TIMESTAMPTZ '2024-01-01' + g * interval '1 minute', 'user' || (g % 13), 'read' FROM generate_series(1, 30000) g;
INSERT INTO ${S}.notes SELECT g % 500, CASE WHEN g % 4 = 0 THEN 'same note' ELSE 'note ' || g END FROM generate_series(1, 4000) g;
`;

interface Writer {
  stop(): Promise<void>;
  /** Acknowledged (committed) audit_log actions and deleted patient ids. */
  readonly acked: { audit: string[]; deletedPatients: number[]; updates: number; keylessChanges: number };
  readonly refused: () => number;
}

/** A client of the clinic writing every few milliseconds until stopped; only committed writes are acknowledged. */
function startWriter(url: string, mode: 'append' | 'churn'): Writer {
  const acked = { audit: [] as string[], deletedPatients: [] as number[], updates: 0, keylessChanges: 0 };
  let refused = 0;
  let running = true;
  let i = 0;
  const client = new pg.Client({ connectionString: url });
  const loop = (async (): Promise<void> => {
    await client.connect();
    while (running) {
      i += 1;
      try {
        if (mode === 'append') {
          const action = `write ${i}`;
          await client.query('BEGIN');
          await client.query(`INSERT INTO ${S}.audit_log (actor, action) VALUES ('writer', $1)`, [action]);
          await client.query(`UPDATE ${S}.patients SET notes = $1 WHERE id = $2`, [`n${i}`, 1 + ((i * 7919) % 30000)]);
          await client.query('COMMIT');
          acked.audit.push(action);
          acked.updates += 1;
        } else {
          const id = 1 + ((i * 104729) % 30000);
          await client.query('BEGIN');
          const d = await client.query(`DELETE FROM ${S}.patients WHERE id = $1`, [id]);
          // keyless: one copy of a duplicated note goes, another note is rewritten, an audit row is appended
          await client.query(
            `DELETE FROM ${S}.notes WHERE ctid = (SELECT ctid FROM ${S}.notes WHERE body = 'same note' LIMIT 1)`,
          );
          await client.query(
            `UPDATE ${S}.notes SET body = $1 WHERE ctid = (SELECT ctid FROM ${S}.notes WHERE body LIKE 'note %' LIMIT 1)`,
            [`edited ${i}`],
          );
          await client.query(`INSERT INTO ${S}.audit_log (actor, action) VALUES ('writer', $1)`, [`delete ${id}`]);
          await client.query('COMMIT');
          if ((d.rowCount ?? 0) > 0) acked.deletedPatients.push(id);
          acked.keylessChanges += 1;
          acked.audit.push(`delete ${id}`);
        }
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        if ((err as { code?: string }).code === '25006') refused += 1;
        else throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 4));
    }
  })();
  return {
    acked,
    refused: () => refused,
    async stop(): Promise<void> {
      running = false;
      try {
        await loop;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}

interface LastVerification {
  result: string;
  summary: { changedSinceCopy?: number; pendingFinalSync?: number; rowDifferences: number };
  tables: Array<{
    table: string;
    changedSinceCopy?: number;
    pendingFinalSync?: number;
    unexplained?: number;
    proof?: string;
  }>;
}

async function lastVerification(targetUrl: string): Promise<LastVerification> {
  return withPg(targetUrl, async (c) => {
    const r = await c.query<{
      result: string;
      summary: LastVerification['summary'];
      report: { tables: LastVerification['tables'] };
    }>('SELECT result, summary, report FROM pgshift.verifications ORDER BY finished_at DESC LIMIT 1');
    const row = r.rows[0];
    if (!row) throw new Error('no verification stored');
    return { result: row.result, summary: row.summary, tables: row.report.tables };
  });
}

function configFor(dir: ConfigDir, name: string, extra = ''): string {
  const envFile = join(dir.dir, `${name}.env`);
  writeFileSync(envFile, 'DATABASE_URL=postgres://app@127.0.0.1:1/app\n');
  return dir.write(
    minimalConfig(`copy: { batch_size: 2000 }
verify: { checksums: full }
cutover:
  max_write_freeze: 60s
  require_verified: true
  switch:
    env_file: ${envFile}
    variable: DATABASE_URL
    value: \${TARGET_DATABASE_URL}
${extra}`),
    `${name}.yaml`,
  );
}

async function keylessRowsOf(url: string, action: string): Promise<number> {
  return withPg(url, async (c) =>
    Number((await c.query(`SELECT count(*) AS n FROM ${S}.audit_log WHERE action = $1`, [action])).rows[0]?.n),
  );
}

const dir = configDir('live-writes');
const pairs: FreshDatabases[] = [];
beforeAll(async () => {
  for (const label of ['live-append', 'live-churn']) {
    const dbs = await freshDatabases(label);
    pairs.push(dbs);
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE_SQL));
    await waitForSettled(dbs.sourceUrl); // a row tampered with later must read as not written since the copy
  }
});
afterAll(async () => {
  for (const p of pairs) await p.drop();
  dir.remove();
});

describe('a source written throughout apply and cutover', () => {
  it('inserts into a keyless append-only table and updates of keyed rows: apply passes, the cutover carries every write', async () => {
    const dbs = pairs[0] as FreshDatabases;
    const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
    const file = configFor(dir, 'append');
    const writer = startWriter(dbs.sourceUrl, 'append');
    try {
      await new Promise((r) => setTimeout(r, 300));
      const applied = await runCliAsync(['apply', '-c', file, '--auto-approve'], env);
      expect(applied.status, applied.stderr + applied.stdout).toBe(0);
      // apply's verification proves the copy itself (what each batch read == what the target holds): the rows
      // written since are not its business
      const v = await lastVerification(dbs.targetUrl);
      expect(v.result).toBe('passed');
      expect(v.tables.find((t) => t.table.endsWith('.audit_log'))?.proof).toBe('copy-digest');
      // `pgshift verify` compares the live source with the target: rows appended after the keyless table's copy
      // are there and are explained by xmin, not failures
      const verified = await runCliAsync(['verify', '-c', file, '--full', '--json'], env);
      expect(verified.status, verified.stdout + verified.stderr).toBe(0);
      const audit = (JSON.parse(verified.stdout) as LastVerification).tables.find((t) =>
        t.table.endsWith('.audit_log'),
      );
      expect(audit?.changedSinceCopy ?? 0).toBeGreaterThan(0);
      expect(audit?.unexplained).toBe(0);
      expect(writer.acked.audit.length).toBeGreaterThan(0);

      const cut = await runCliAsync(['cutover', '-c', file, '--auto-approve'], env);
      expect(cut.status, cut.stderr + cut.stdout).toBe(0);
      expect(cut.stdout).toContain('Cutover complete!');
    } finally {
      await writer.stop();
    }
    expect(writer.refused()).toBeGreaterThan(0); // the writer met the freeze: it was writing up to the cutover
    await expectSameData(dbs.sourceUrl, dbs.targetUrl, { ignoreTargetOnly: true });
    // every acknowledged write is on the target (the last few, and one from the middle)
    for (const a of [
      writer.acked.audit[0],
      writer.acked.audit[Math.floor(writer.acked.audit.length / 2)],
      writer.acked.audit.at(-1),
    ]) {
      expect(await keylessRowsOf(dbs.targetUrl, a as string)).toBe(1);
    }
  });

  it('deletes of keyed rows, deletes and updates of keyless rows: pending the final sync, apply exits 0, the cutover makes both equal', async () => {
    const dbs = pairs[1] as FreshDatabases;
    const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
    const file = configFor(dir, 'churn');
    const writer = startWriter(dbs.sourceUrl, 'churn');
    try {
      await new Promise((r) => setTimeout(r, 300));
      const applied = await runCliAsync(['apply', '-c', file, '--auto-approve'], env);
      expect(applied.status, applied.stderr + applied.stdout).toBe(0);
      // apply's verification proved the copies; `pgshift verify` then compares the live source with the target
      expect((await lastVerification(dbs.targetUrl)).result).toBe('passed');
      const asJson = runCli(['verify', '-c', file, '--full', '--json'], env);
      expect(asJson.status, asJson.stdout + asJson.stderr).toBe(0);
      const v = JSON.parse(asJson.stdout) as LastVerification;
      const pending = (name: string): number =>
        v.tables.find((t) => t.table.endsWith(`.${name}`))?.pendingFinalSync ?? 0;
      expect(pending('patients')).toBeGreaterThan(0); // rows deleted on the source after their copy
      expect(pending('notes')).toBeGreaterThan(0); // keyless rows deleted or rewritten after the copy
      expect(v.summary.pendingFinalSync).toBe(v.tables.reduce((n, t) => n + (t.pendingFinalSync ?? 0), 0));

      // in text: pending, not failed, and exits 0
      const verified = runCli(['verify', '-c', file, '--full'], env);
      expect(verified.status, verified.stdout + verified.stderr).toBe(0);
      expect(verified.stdout).toContain('pending the final sync');
      expect(verified.stdout).not.toMatch(/apply again|verify until/i);

      const cut = await runCliAsync(['cutover', '-c', file, '--auto-approve'], env);
      expect(cut.status, cut.stderr + cut.stdout).toBe(0);
    } finally {
      await writer.stop();
    }
    expect(writer.acked.deletedPatients.length).toBeGreaterThan(0);
    await expectSameData(dbs.sourceUrl, dbs.targetUrl, { ignoreTargetOnly: true });
    const gone = await withPg(dbs.targetUrl, async (c) =>
      Number(
        (
          await c.query(`SELECT count(*) AS n FROM ${S}.patients WHERE id = ANY($1::bigint[])`, [
            writer.acked.deletedPatients,
          ])
        ).rows[0]?.n,
      ),
    );
    expect(gone).toBe(0);
  });

  it('a row copied wrong is still a failure on a live source (not pending)', async () => {
    const dbs = pairs[1] as FreshDatabases;
    const env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
    const file = configFor(dir, 'churn');
    // after the cutover the source is frozen: corrupt the target behind pgshift's back (a keyed and a keyless row)
    await withPg(dbs.targetUrl, async (c) => {
      await c.query(`UPDATE ${S}.patients SET name = 'tampered' WHERE id = (SELECT min(id) FROM ${S}.patients)`);
      // a keyless row the writer never rewrites (it only appends to the audit log): its source twin predates the copy
      await c.query(`UPDATE ${S}.audit_log SET actor = 'tampered' WHERE ctid = (SELECT min(ctid) FROM ${S}.audit_log)`);
    });
    const verified = runCli(['verify', '-c', file, '--full', '--json'], env);
    expect(verified.status, verified.stderr).toBe(3);
    const report = JSON.parse(verified.stdout) as {
      tables: Array<{ table: string; differences: Array<{ kind: string; cause?: string }> }>;
    };
    const patients = report.tables.find((t) => t.table.endsWith('.patients'));
    expect(patients?.differences).toContainEqual(expect.objectContaining({ kind: 'changed', cause: 'copy-error' }));
    const audit = report.tables.find((t) => t.table.endsWith('.audit_log'));
    expect(audit?.differences).toContainEqual(expect.objectContaining({ kind: 'missing', cause: 'copy-error' }));
  });
});
