import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pgshift-demo-'));
/** Data folders of servers left running by `demo --keep`: stopped here if the printed commands did not. */
const kept: string[] = [];
afterAll(() => {
  for (const d of kept) {
    const pidFile = join(d, 'postmaster.pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    try {
      process.kill(pid, 'SIGQUIT'); // the postmaster this test's demo started
    } catch {
      // already gone
    }
  }
  for (const d of kept) rmSync(dirname(d), { recursive: true, force: true }); // the server's folder under tmp
  rmSync(dir, { recursive: true, force: true });
});

describe('pgshift demo', () => {
  it('runs the whole flow on embedded servers with nothing configured, and cleans up', () => {
    const r = runCli(['demo', '--dir', join(dir, 'demo'), '--patients', '500']);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/Plan: \d+ to add, 0 to resume, 1 to change, 0 to destroy\./);
    expect(r.stdout).toMatch(/Apply complete! \d+ done, 0 failed\./);
    expect(r.stdout).toContain('Verification PASSED: 4 tables');
    expect(r.stdout).toContain('No changes. The target matches the desired state');
    expect(r.stdout).toContain('SET ROLE anon; SELECT count(*) FROM public.patients  ->  0'); // RLS before data on a Supabase-like target
    expect(r.stdout).toMatch(/Cutover complete! Write freeze (\d+ ms|\d+\.\d s);/);
    expect(r.stdout).toMatch(
      /and after:\n# the clinic backend's settings\nDATABASE_URL=postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/clinic/,
    );
    expect(r.stdout).toContain('application   on the target');
    expect(r.stdout).toContain('The servers are stopped and removed.');
    expect(r.stdout + r.stderr).not.toContain('pgshift-test-pw'); // the demo's password never reaches the output
  });

  it('--keep leaves the servers running and prints stop commands that work (as root too)', () => {
    const r = runCli(['demo', '--dir', join(dir, 'keep'), '--patients', '100', '--keep']);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const stops = (r.stdout.split('Stop them with:\n')[1] ?? '')
      .split('\n')
      .filter((l) => l.startsWith('  '))
      .map((l) => l.trim());
    expect(stops).toHaveLength(2);
    const dataDirs = stops.map((c) => /-D '?([^' ]+)'?/.exec(c)?.[1] ?? '');
    kept.push(...dataDirs.filter(Boolean));
    for (const d of dataDirs) expect(existsSync(join(d, 'postmaster.pid')), d).toBe(true);
    for (const command of stops) {
      const run = spawnSync('sh', ['-c', command], { encoding: 'utf8', timeout: 60_000 });
      expect(run.status, `${command}\n${run.stdout}${run.stderr}`).toBe(0);
      expect(run.stderr).not.toContain('cannot be run as root');
    }
    for (const d of dataDirs) expect(existsSync(join(d, 'postmaster.pid')), d).toBe(false); // stopped
  });
});
