import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pgshift-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pgshift demo', () => {
  it('runs the whole flow on embedded servers with nothing configured, and cleans up', () => {
    const r = runCli(['demo', '--dir', join(dir, 'demo'), '--patients', '500']);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout).toMatch(/Plan: \d+ to add, 0 to resume, 1 to change, 0 to destroy\./);
    expect(r.stdout).toMatch(/Apply complete! \d+ done, 0 failed\./);
    expect(r.stdout).toContain('Verification PASSED: 4 tables');
    expect(r.stdout).toContain('No changes. The target matches the desired state');
    expect(r.stdout).toContain('SET ROLE anon; SELECT count(*) FROM public.patients  ->  0'); // RLS before data on a Supabase-like target
    expect(r.stdout).toMatch(/Cutover complete! Write freeze \d+ ms/);
    expect(r.stdout).toMatch(
      /and after:\n# the clinic backend's settings\nDATABASE_URL=postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/clinic/,
    );
    expect(r.stdout).toContain('application   on the target');
    expect(r.stdout).toContain('The servers are stopped and removed.');
    expect(r.stdout + r.stderr).not.toContain('pgshift-test-pw'); // the demo's password never reaches the output
  });
});
