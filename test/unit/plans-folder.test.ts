import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PLANS = join(ROOT, 'plans');

describe('the top-level plans/ folder (saved plans reviewed in pull requests)', () => {
  it('exists with its README, which says what a saved plan holds, that it holds no secret and how apply refuses a stale one', () => {
    const readme = readFileSync(join(PLANS, 'README.md'), 'utf8');
    for (const field of ['configHash', 'sourceFingerprint', 'targetFingerprint', 'stateSerial', 'actions', 'findings'])
      expect(readme).toContain(`\`${field}\``);
    expect(readme).toMatch(/## It holds no secret/);
    expect(readme).toContain('PLAN_STALE');
    expect(readme).toMatch(/estimates[^.]*decide nothing: apply does not compare them/);
  });

  it('is not ignored by git, so a saved plan can be committed', () => {
    const r = spawnSync('git', ['check-ignore', 'plans/NAME.plan.json', 'plans/README.md'], { cwd: ROOT });
    if (r.error || r.status === 128) return; // no git (or no repository) here: nothing to check
    expect(r.status, 'git check-ignore found plans/ ignored').toBe(1);
  });

  it('holds nothing but its README in this repository: no test or command run from here left a plan in it', () => {
    expect(existsSync(PLANS)).toBe(true);
    expect(readdirSync(PLANS)).toEqual(['README.md']);
  });
});
