/**
 * APPROVAL_REQUIRED without a terminal: the hint names what approves that command. Only apply has saved plans;
 * cutover, rollback and destroy are approved with --auto-approve or at a terminal.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { askYes, type ApprovalCommand } from '../../src/cli/confirm.js';
import { PgshiftError } from '../../src/errors/index.js';

let ci: string | undefined;
beforeEach(() => {
  ci = process.env.CI;
  process.env.CI = 'true'; // no one to ask, whatever runs the tests
});
afterEach(() => {
  if (ci === undefined) delete process.env.CI;
  else process.env.CI = ci;
});

async function refusal(command: ApprovalCommand): Promise<PgshiftError> {
  const err = await askYes('Go on?', command).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PgshiftError);
  expect((err as PgshiftError).code).toBe('APPROVAL_REQUIRED');
  return err as PgshiftError;
}

describe('APPROVAL_REQUIRED hints', () => {
  it.each(['cutover', 'rollback', 'destroy'] as const)(
    '%s: --auto-approve or a terminal, never a saved plan',
    async (c) => {
      const err = await refusal(c);
      expect(err.hint).toContain(`\`pgshift ${c} --auto-approve\``);
      expect(err.hint).toMatch(/terminal/);
      expect(err.hint).not.toMatch(/saved plan|plan --out|pgshift apply/);
    },
  );

  it('apply: --auto-approve or a saved plan', async () => {
    const err = await refusal('apply');
    expect(err.hint).toContain('`pgshift apply --auto-approve`');
    expect(err.hint).toContain('`pgshift plan --out plans/NAME.plan.json`');
    expect(err.hint).toContain('`pgshift apply plans/NAME.plan.json`');
  });
});
