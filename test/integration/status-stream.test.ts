/**
 * `pgshift status` shows the change stream: after an apply the slot exists and nobody reads it; rows written on the
 * source without a follower show as lag in bytes (and seconds) and as WAL the slot retains; while `apply --follow`
 * runs the slot is active and the reader is named; once it has applied everything and stopped, the applied position
 * is past the writes and the lag is what the source wrote after it. A limit below what the slot retains warns; a slot
 * dropped behind pgshift's back warns; an unreachable source leaves the target's view whole and says why the stream
 * figures are missing, without its password. The migration's name is digit-leading with a keyword and hyphens, the
 * tables are quoted names.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamNames } from '../../src/stream/names.js';
import { parseLsn } from '../../src/stream/pgoutput.js';
import { BIN, REPO, runCliAsync } from '../e2e/cli.js';
import { configDir } from '../support/config.js';
import { freshDatabases, withPg, type FreshDatabases } from '../support/databases.js';

const NAME = '9-Select_we-ird';
const DDL = `
CREATE TABLE public."we""ird" (id int PRIMARY KEY, note text);
CREATE TABLE public."select" (line text);
INSERT INTO public."we""ird" SELECT g, 'note ' || g FROM generate_series(1, 500) g;
INSERT INTO public."select" SELECT 'line ' || g FROM generate_series(1, 50) g;
`;

function config(extra = ''): string {
  return `version: 1
name: ${NAME}
source:
  url: \${SOURCE_DATABASE_URL}
target:
  url: \${TARGET_DATABASE_URL}
${extra}`;
}

interface Lag {
  slot: string;
  publications: string[];
  status: string;
  error: string | null;
  consistentLsn: string;
  appliedLsn: string | null;
  sourceCommitAt: string | null;
  appliedAt: string | null;
  transactions: number;
  changes: number;
  sourceRead: boolean;
  slotExists: boolean | null;
  active: boolean | null;
  reader: { pid: number; applicationName: string | null; user: string | null; since: string | null } | null;
  currentLsn: string | null;
  lagBytes: number | null;
  lagSeconds: number | null;
  retainedBytes: number | null;
  walStatus: string | null;
  safeWalSizeBytes: number | null;
  maxSlotWalKeepSizeBytes: number | null;
  maxSlotRetainedBytes: number;
  warnings: Array<{ code: string; message: string; hint?: string }>;
}
interface StatusJson {
  migration: string;
  checkpoints: Array<{ tableName: string; status: string }>;
  stream: { sourceRead: boolean; sourceError: string | null; slots: Lag[] };
}

const cfg = configDir('status-stream');
let dbs: FreshDatabases;
let env: NodeJS.ProcessEnv;
let file: string;
let slot: string;

beforeAll(async () => {
  dbs = await freshDatabases('status_stream');
  await withPg(dbs.sourceUrl, (c) => c.query(DDL));
  env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
  file = cfg.write(config());
  slot = streamNames(NAME, dbs.name).slot;
});
afterAll(async () => {
  await dbs?.drop();
  cfg.remove();
});

async function status(extraEnv: NodeJS.ProcessEnv = {}, f = file): Promise<{ json: StatusJson; text: string }> {
  const j = await runCliAsync(['status', '-c', f, '--json'], { ...env, ...extraEnv });
  expect(j.status, j.stderr + j.stdout).toBe(0);
  const t = await runCliAsync(['status', '-c', f], { ...env, ...extraEnv });
  expect(t.status, t.stderr + t.stdout).toBe(0);
  return { json: JSON.parse(j.stdout) as StatusJson, text: t.stdout };
}

const sourceLsn = (): Promise<string> =>
  withPg(
    dbs.sourceUrl,
    async (c) => (await c.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l,
  );

const diff = (from: string, to: string): number => Number(parseLsn(to) - parseLsn(from));

async function waitApplied(lsn: string, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await withPg(dbs.targetUrl, async (c) => {
      const r = await c.query<{ ok: boolean }>(
        'SELECT coalesce(applied_lsn >= $2::pg_lsn, false) AS ok FROM pgshift.stream WHERE slot = $1',
        [slot, lsn],
      );
      return r.rows[0]?.ok === true;
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`the stream never applied up to ${lsn}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('pgshift status with a change stream', () => {
  it('shows lag bytes and seconds and the retained WAL, the reader while following, and the lag closing', async () => {
    const applied = await runCliAsync(['apply', '-c', file, '--auto-approve'], env);
    expect(applied.status, applied.stderr + applied.stdout).toBe(0);

    const first = await status();
    expect(first.json.stream.sourceRead).toBe(true);
    expect(first.json.stream.slots).toHaveLength(1);
    const s0 = first.json.stream.slots[0]!;
    // the JSON shape: every figure, nothing else
    expect(Object.keys(s0).sort()).toEqual(
      [
        'slot',
        'publications',
        'status',
        'error',
        'consistentLsn',
        'appliedLsn',
        'sourceCommitAt',
        'appliedAt',
        'transactions',
        'changes',
        'sourceRead',
        'slotExists',
        'active',
        'reader',
        'currentLsn',
        'lagBytes',
        'lagSeconds',
        'retainedBytes',
        'walStatus',
        'safeWalSizeBytes',
        'maxSlotWalKeepSizeBytes',
        'maxSlotRetainedBytes',
        'warnings',
      ].sort(),
    );
    expect(s0).toMatchObject({
      slot,
      publications: [slot, `${slot}_inserts`],
      slotExists: true,
      active: false,
      reader: null,
      maxSlotRetainedBytes: 10 * 1024 ** 3,
      warnings: [],
    });
    expect(s0.walStatus).toMatch(/^(reserved|extended)$/);
    expect(first.text).toContain('Change stream:');
    expect(first.text).toContain(`  slot          ${slot}, ${s0.status}, nobody reads it`);

    // writes on the source, nobody following: the lag and the retained WAL grow past them
    const before = s0.appliedLsn ?? s0.consistentLsn;
    await withPg(dbs.sourceUrl, async (c) => {
      await c.query(`INSERT INTO public."we""ird" SELECT g, repeat('x', 200) FROM generate_series(501, 3000) g`);
      await c.query(`UPDATE public."we""ird" SET note = note || '!' WHERE id <= 200`);
      await c.query(`DELETE FROM public."we""ird" WHERE id BETWEEN 201 AND 250`);
      await c.query(`INSERT INTO public."select" SELECT 'more ' || g FROM generate_series(1, 20) g`);
    });
    const written = await sourceLsn();
    await new Promise((r) => setTimeout(r, 1100));
    const lagging = await status();
    const s1 = lagging.json.stream.slots[0]!;
    expect(s1.appliedLsn).toBe(s0.appliedLsn);
    expect(s1.lagBytes).toBe(diff(s1.appliedLsn ?? s1.consistentLsn, s1.currentLsn!));
    expect(s1.lagBytes).toBeGreaterThanOrEqual(diff(before, written));
    expect(diff(before, written)).toBeGreaterThan(100_000);
    expect(s1.lagSeconds).toBeGreaterThanOrEqual(1);
    expect(s1.retainedBytes).toBeGreaterThanOrEqual(diff(before, written));
    expect(lagging.text).toMatch(/ {2}lag {11}\d+\.\d (kiB|MiB) \(\d+ bytes\), \d+(\.\d)? s behind the source/);
    expect(lagging.text).toMatch(/ {2}WAL retained {2}\d+\.\d (kiB|MiB) \(\d+ bytes\), wal_status (reserved|extended)/);
    expect(lagging.text).toContain('pgshift warns past 10.0 GiB (cutover.stream.max_slot_retained)');

    // a limit below what the slot holds: a warning line that names the limit and the next step
    const tight = cfg.write(config('cutover:\n  stream: { max_slot_retained: 64kB }\n'), 'tight.yaml');
    const warned = await status({}, tight);
    expect(warned.json.stream.slots[0]?.warnings.map((w) => w.code)).toEqual(['STREAM_SLOT_RETAINED']);
    expect(warned.text).toContain(
      `  warning       [STREAM_SLOT_RETAINED] replication slot ${slot} holds back more WAL`,
    );
    expect(warned.text).toContain('pgshift apply --follow');

    // apply --follow: the slot is read, status names the reader and the follower's lock
    const follower = spawn(process.execPath, [BIN, 'apply', '-c', file, '--auto-approve', '--follow'], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', ...env },
    });
    let out = '';
    follower.stdout.on('data', (d: Buffer) => (out += d.toString()));
    follower.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => follower.on('close', (code) => r(code)));
    try {
      await waitApplied(written);
      const following = await status();
      const s2 = following.json.stream.slots[0]!;
      expect(s2).toMatchObject({ status: 'streaming', active: true });
      expect(s2.reader).toMatchObject({ applicationName: 'pgshift', pid: expect.any(Number) });
      expect(following.text).toMatch(/read by pid \d+ \(application "pgshift", user \S+, since /);
      expect(following.text).toContain("the target's lock: apply --follow by ");
    } finally {
      follower.kill('SIGINT');
    }
    expect(await exited, out).toBe(130);

    // stopped after applying everything: the applied position is past the writes; what is left is WAL written after
    const caughtUp = await status();
    const s3 = caughtUp.json.stream.slots[0]!;
    expect(s3).toMatchObject({ status: 'stopped', active: false, reader: null });
    expect(s3.transactions).toBeGreaterThanOrEqual(4);
    expect(diff(written, s3.appliedLsn!)).toBeGreaterThanOrEqual(0);
    expect(s3.lagBytes).toBe(Math.max(0, diff(s3.appliedLsn!, s3.currentLsn!)));
    // what is left is only WAL written after our last write (by anyone: the server's other databases count too),
    // not the writes the follower applied (s1's lag measured them still pending)
    expect(s3.lagBytes!).toBeLessThanOrEqual(Math.max(0, diff(written, s3.currentLsn!)));
    // nothing written after the stored position (the source is quiet): 0 bytes and 0 seconds
    if (s3.lagBytes === 0) expect(s3.lagSeconds).toBe(0);
    else expect(s3.lagSeconds).toBeGreaterThan(0);
    const rows = await withPg(dbs.targetUrl, (c) => c.query(`SELECT count(*)::int AS n FROM public."we""ird"`));
    expect(rows.rows).toEqual([{ n: 2950 }]);
  }, 180_000);

  it('an unreachable source: the target state is shown, the stream figures are said to be missing, no secret', async () => {
    const down = 'postgres://pgshift:Sup3r-Secret-pw@127.0.0.1:1/nowhere';
    const r = await status({ SOURCE_DATABASE_URL: down });
    expect(r.json.stream.sourceRead).toBe(false);
    expect(r.json.stream.sourceError).toBeTruthy();
    expect(r.json.stream.slots[0]).toMatchObject({ slot, sourceRead: false, lagBytes: null, retainedBytes: null });
    expect(r.json.stream.slots[0]?.appliedLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(r.json.checkpoints.length).toBeGreaterThan(0);
    expect(r.text).toContain(`  slot          ${slot}, stopped`);
    expect(r.text).toMatch(/ {2}source {8}could not be read \(.+\): the lag and the WAL the slot retains are unknown/);
    expect(r.text).toMatch(/Tables:\n/);
    for (const t of [r.text, JSON.stringify(r.json)]) {
      expect(t).not.toContain('Sup3r-Secret-pw');
      expect(t).not.toMatch(/\n\s+at .+\.js:\d+/);
    }
  });

  it('a slot dropped on the source behind pgshift: status warns that the stream is lost', async () => {
    await withPg(dbs.sourceUrl, (c) => c.query('SELECT pg_drop_replication_slot($1)', [slot]));
    const r = await status();
    const s = r.json.stream.slots[0]!;
    expect(s).toMatchObject({ slotExists: false, retainedBytes: null });
    expect(s.warnings.map((w) => w.code)).toEqual(['STREAM_SLOT_LOST']);
    expect(r.text).toContain(`  slot          ${slot}, stopped, GONE from the source`);
    expect(r.text).toContain(
      `  warning       [STREAM_SLOT_LOST] replication slot ${slot} is in pgshift's state but gone`,
    );
  });
});
