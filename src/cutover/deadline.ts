import type pg from 'pg';
import { PgshiftError } from '../errors/index.js';

/**
 * The write freeze's budget (cutover.max_write_freeze, counted from its first lock request) and the operator's
 * interrupt: every step inside the freeze checks it before it starts, and the switch checks it last.
 */
export class Deadline {
  constructor(
    private readonly startedAtMs: number,
    private readonly maxMs: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  elapsed(): number {
    return Date.now() - this.startedAtMs;
  }

  remaining(): number {
    return this.maxMs - this.elapsed();
  }

  check(what: string): void {
    if (this.signal?.aborted)
      throw new PgshiftError('INTERRUPTED', `interrupted during ${what}; the write freeze is being lifted`, {
        hint: 'Run the command again when ready.',
      });
    if (this.remaining() <= 0) {
      throw new PgshiftError(
        'CUTOVER_ABORTED',
        `the write freeze would pass cutover.max_write_freeze (${this.maxMs} ms) during ${what}: the cutover was aborted`,
        {
          hint: 'The source takes writes again and nothing else changed. Run `pgshift verify` or a catch-up (`pgshift cutover` again) closer to the cutover, or raise max_write_freeze.',
        },
      );
    }
  }
}

/**
 * Runs `fn` with every statement of `clients` bounded by what is left of the budget (statement_timeout): a statement
 * cancelled by that bound (57014) is reported as the budget spent during `what`. The bound is lifted afterwards.
 */
export async function withinBudget<T>(
  deadline: Deadline,
  clients: readonly pg.Client[],
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  const budget = `SET statement_timeout = ${Math.max(1, deadline.remaining())}`;
  await Promise.all(clients.map((c) => c.query(budget)));
  try {
    return await fn();
  } catch (err) {
    if ((err as { code?: string }).code === '57014') deadline.check(what);
    throw err;
  } finally {
    await Promise.all(clients.map((c) => c.query('SET statement_timeout = 0'))).catch(() => undefined);
  }
}
