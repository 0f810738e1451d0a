/**
 * What a release engineer sees while apply runs, driven as they would: the built CLI in a pseudo-terminal
 * (util-linux `script -qfec`: node-pty needs a native build this machine does not have, and listr2's test renderer
 * would not show what the default renderer draws). The screen is rebuilt from what the CLI writes
 * (test/support/terminal.ts) and sampled after each burst of output.
 *
 * Long actions are made long on purpose: a table of 1.5 million rows in batches of 50,000 (the copy and its
 * read-back, its own action); an index whose expression sleeps a millisecond per row (a build of several seconds whose blocks
 * move in pg_stat_progress_create_index); and the verification held by a lock this test takes on the target's
 * copy of a keyless table once that copy is read back, released 3 s after the verification appears.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync } from '../e2e/cli.js';
import { configDir, minimalConfig } from '../support/config.js';
import { freshDatabases, type FreshDatabases, waitForSettled, withPg } from '../support/databases.js';
import { type Frame, runInPty, scriptAvailable } from '../support/terminal.js';

const cfg = configDir('progress-tty');

const SOURCE = `
CREATE TABLE big (id bigint PRIMARY KEY, a int, b text, c timestamptz);
INSERT INTO big SELECT i, ((i::bigint * 7919) % 100000)::int, md5(i::text), '2026-01-01'::timestamptz - i * interval '1 second'
  FROM generate_series(1, 1500000) i;
CREATE FUNCTION slow_key(t text) RETURNS text IMMUTABLE LANGUAGE plpgsql
  AS $$ BEGIN PERFORM pg_catalog.pg_sleep(0.001); RETURN t; END $$;
CREATE TABLE small (id int PRIMARY KEY, v text);
INSERT INTO small SELECT i, md5(i::text) FROM generate_series(1, 2000) i;
CREATE INDEX small_slow ON small (slow_key(v));
CREATE TABLE log (line text, n int);
-- more rows than small has: its read-back ranks before small_slow's build, so the lock below is taken seconds before
-- the verification can start (it waits for that build)
INSERT INTO log SELECT 'x', i FROM generate_series(1, 20000) i;
ANALYZE;
`;

/** The line of `address` while it runs (`address (Ns): ...`), frame by frame. */
function runningLines(frames: readonly Frame[], address: string): Array<{ at: number; line: string }> {
  const re = new RegExp(`${address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+s\\)`);
  return frames.flatMap((f) => {
    const line = f.lines.find((l) => re.test(l));
    return line ? [{ at: f.at, line: line.replace(/^[^a-z]*/, '') }] : [];
  });
}

/** ms from the action's first running line to the first frame where that line shows something else. */
function firstMove(lines: Array<{ at: number; line: string }>): number {
  const first = lines[0];
  const moved = lines.find((l) => l.line !== first?.line);
  if (!first || !moved) return Infinity;
  return moved.at - first.at;
}

describe.skipIf(!scriptAvailable())('apply on a terminal', () => {
  let dbs: FreshDatabases;
  let env: NodeJS.ProcessEnv;
  let file: string;
  beforeAll(async () => {
    dbs = await freshDatabases('progress_tty');
    await withPg(dbs.sourceUrl, (c) => c.query(SOURCE));
    await waitForSettled(dbs.sourceUrl);
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
    file = cfg.write(minimalConfig('copy: { batch_size: 50000, parallel: 2 }\nverify: { checksums: full }\n'));
  }, 180_000);
  afterAll(async () => {
    await dbs?.drop();
  });

  it('draws the tree once, moves every long action within 2 s, and totals rows, bytes and ETA', async () => {
    const holder = new pg.Client({ connectionString: dbs.targetUrl });
    await holder.connect();
    let lock: 'none' | 'taking' | 'held' | 'released' = 'none';
    let release: NodeJS.Timeout | undefined;
    try {
      const run = await runInPty(['node', 'bin/run.js', 'apply', '-c', file, '--auto-approve'], env, {
        onFrame: (f) => {
          const text = f.lines.join('\n');
          // once the keyless table's copy is read back (its own action): the verification is the next to read it
          if (lock === 'none' && /✔ copy public\.log: .*, read back/.test(text)) {
            lock = 'taking';
            void holder.query('BEGIN; LOCK TABLE public.log IN ACCESS EXCLUSIVE MODE').then(() => (lock = 'held'));
          }
          if (lock === 'held' && !release && /verify \(\d+s\)/.test(text)) {
            release = setTimeout(() => void holder.query('COMMIT').then(() => (lock = 'released')), 3000);
          }
        },
      });
      const screen = run.screen.text();
      expect(run.status, screen.join('\n')).toBe(0);
      expect(lock).toBe('released');

      // the tree once, the INFO block of the run not at all, the run id and the times in the closing line
      expect(screen.filter((l) => /Schema \(before data\)/.test(l))).toHaveLength(1);
      expect(screen.filter((l) => /Schema \(after data\)/.test(l))).toHaveLength(1);
      expect(screen.filter((l) => /total: /.test(l))).toHaveLength(1);
      expect(run.raw).not.toContain('apply started');
      expect(screen.at(-1)).toMatch(
        /^Apply complete! \d+ done, 0 failed, 0 skipped, 0 not started\. Run [0-9a-f-]{36}\. Took \d+s \(the plan estimated ~\d+s\)\.$/,
      );

      // the copy: rows and rows/s that move; its read-back ("verifying N rows") its own action, then on the copy's line
      const copy = runningLines(run.frames, 'copy public.big');
      expect(firstMove(copy)).toBeLessThanOrEqual(2000);
      const rows = new Set(copy.flatMap((l) => /: ([\d,]+) rows, [\d,]+ rows\/s/.exec(l.line)?.[1] ?? []));
      expect(rows.size).toBeGreaterThanOrEqual(2);
      const readBack = runningLines(run.frames, 'read-back public.big');
      expect(readBack.some((l) => /verifying [\d,]+ of 1,500,000 rows/.test(l.line))).toBe(true);
      expect(screen.join('\n')).toMatch(/✔ copy public\.big: 1,500,000 rows, [\d.]+ MiB in \d+s, read back/);

      // the index build: the server's progress of its scan, blocks that move
      const build = runningLines(run.frames, 'index public.small_slow');
      expect(build.at(-1)!.at - build[0]!.at).toBeGreaterThan(2000);
      expect(firstMove(build)).toBeLessThanOrEqual(2000);
      const blocks = new Set(
        build.flatMap((l) => /scanning table, \d+% \((\d+) of \d+ blocks\)/.exec(l.line)?.[1] ?? []),
      );
      expect(blocks.size).toBeGreaterThanOrEqual(2);

      // the verification: held by the lock, which it says (its rows checked: the test without a terminal below;
      // here the copies' digests prove every table at once when the lock goes)
      const verify = runningLines(run.frames, 'verify');
      expect(verify.at(-1)!.at - verify[0]!.at).toBeGreaterThan(2000);
      expect(firstMove(verify)).toBeLessThanOrEqual(2000);
      expect(verify.some((l) => /waiting for a lock \(relation\)/.test(l.line))).toBe(true);

      // the total: rows of the estimate, bytes, rows/s and ETA while copying; rows, bytes and time at the end
      const totals = run.frames.flatMap((f) => f.lines.filter((l) => /total: /.test(l)));
      expect(
        totals.some((l) => /total: [\d,]+ of ~[\d,]+ rows, \d+%, [\d.]+ (kiB|MiB), [\d,]+ rows\/s, ETA \d+s/.test(l)),
      ).toBe(true);
      expect(screen.join('\n')).toMatch(/✔ total: 1,522,000 rows, [\d.]+ MiB in \d+s/);
    } finally {
      if (release) clearTimeout(release);
      await holder.end().catch(() => undefined);
    }
  }, 180_000);
});

describe('apply without a terminal, and the plan', () => {
  let dbs: FreshDatabases;
  let env: NodeJS.ProcessEnv;
  let file: string;
  beforeAll(async () => {
    dbs = await freshDatabases('progress_log');
    await withPg(dbs.sourceUrl, (c) =>
      c.query(`CREATE TABLE t (id bigint PRIMARY KEY, v text);
               INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 200000) i; ANALYZE t;`),
    );
    await waitForSettled(dbs.sourceUrl);
    env = { SOURCE_DATABASE_URL: dbs.sourceUrl, TARGET_DATABASE_URL: dbs.targetUrl };
    file = cfg.write(minimalConfig('copy: { batch_size: 20000, parallel: 2 }\n'), 'log.yaml');
  }, 120_000);
  afterAll(async () => {
    await dbs?.drop();
    cfg.remove();
  });

  it('plan: a time estimate per copy and in total, in text and JSON', async () => {
    const text = await runCliAsync(['plan', '-c', file], env);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/\+ copy public\.t\s+~200,000 rows, [\d.]+ \w+, ~\d+s\n/);
    expect(text.stdout).toMatch(/Estimated time: ~\d+s for the apply \(.*a stated default rate/);
    const json = JSON.parse((await runCliAsync(['plan', '-c', file, '--json'], env)).stdout) as {
      estimate: { totalSeconds: number; rowsPerSecond: number; copies: { address: string; seconds: number }[] };
    };
    expect(json.estimate.rowsPerSecond).toBe(160_000);
    expect(json.estimate.copies.map((c) => c.address)).toEqual(['copy public.t']);
    expect(json.estimate.totalSeconds).toBeGreaterThan(1);
  });

  it('progress lines carry real rates; the run details stay in the JSON log', async () => {
    const r = await runCliAsync(['apply', '-c', file, '--auto-approve', '--log-format', 'json'], env);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const logs = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; rowsPerSecond?: number; runId?: string });
    const progress = logs.filter((l) => l.msg.startsWith('copy progress'));
    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress) {
      expect(p.msg).not.toMatch(/ 0 rows\/s/);
      expect(p.rowsPerSecond).toBeGreaterThan(0);
    }
    // the verification's rows checked reach the view (src/verify/run.ts onProgress, wired in apply)
    expect(logs.some((l) => /^progress: verify \(\d+s\): [\d,]+ rows checked/.test(l.msg))).toBe(true);
    expect(logs.find((l) => l.msg === 'apply started')?.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.stdout).toMatch(/Took \d+s \(the plan estimated ~\d+s\)\./);
  });
});
