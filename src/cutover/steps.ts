import type pg from 'pg';
import type { Config } from '../config/types.js';
import { connectClient } from '../db/connect.js';
import { assertSessionPooling } from '../db/pooler.js';
import { PgshiftError } from '../errors/index.js';
import { logger } from '../log/logger.js';
import { endpoints, sessionSettings } from '../db/endpoints.js';
import { scrub } from '../log/redact.js';
import { freezeWrites, frozenTables, unfreezeWrites, type Relation } from './freeze.js';
import { updateRecord, type CutoverRow } from '../state/cutover.js';

/** Shared by cutover and rollback: their sessions, the freeze budget, and a recorded step. */

export interface StepOptions {
  onStep?(step: string, state: 'start' | 'done', detail?: string): void;
}

export interface Sessions {
  readonly control: pg.Client;
  readonly source: pg.Client;
  readonly target: pg.Client;
  close(): Promise<void>;
}

export async function openSessions(config: Config): Promise<Sessions> {
  const eps = endpoints(config);
  const s = sessionSettings(config);
  await assertSessionPooling([eps.source, eps.target], s); // the lock and the freeze need one server session each
  const [control, source, target] = await Promise.all([connectClient(eps.target, s), connectClient(eps.source, s), connectClient(eps.target, s)]);
  return {
    control,
    source,
    target,
    close: async () => void (await Promise.all([control, source, target].map((c) => c.end().catch(() => undefined)))),
  };
}

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
    if (this.signal?.aborted) throw new PgshiftError('INTERRUPTED', `interrupted during ${what}; the write freeze is being lifted`, { hint: 'Run the command again when ready.' });
    if (this.remaining() <= 0) {
      throw new PgshiftError('CUTOVER_ABORTED', `the write freeze would pass cutover.max_write_freeze (${this.maxMs} ms) during ${what}: the cutover was aborted`, {
        hint: 'The source takes writes again and nothing else changed. Run `pgshift verify` or a catch-up (`pgshift cutover` again) closer to the cutover, or raise max_write_freeze.',
      });
    }
  }
}

export async function step<T>(ctl: pg.Client, id: string, name: string, o: StepOptions, fn: () => Promise<{ value: T; detail: string; counts?: Record<string, number> }>): Promise<T> {
  const started = performance.now();
  o.onStep?.(name, 'start');
  await faultPoint(name, 'before');
  const r = await fn();
  await faultPoint(name, 'effect');
  const ms = Math.round(performance.now() - started);
  await updateRecord(ctl, id, { step: name, done: { step: name, ms, detail: r.detail }, ...(r.counts ? { counts: r.counts } : {}) });
  await faultPoint(name, 'after');
  o.onStep?.(name, 'done', r.detail);
  logger().debug({ step: name, ms }, `${name} done`);
  return r.value;
}


/**
 * Crash testing: PGSHIFT_FAULT_KILL=<step>:<before|effect|after> makes the process SIGKILL itself at that point of
 * a cutover or rollback step (before it, after its effect but before its record, after its record). The tests
 * prove that every such crash leaves a state from which `cutover` or `rollback` completes.
 * PGSHIFT_FAULT_PAUSE=<step>:<when>:<ms> holds the process there for that long (a slow step), after printing
 * `pgshift: paused at <step>:<when>` on stderr, so that a test can signal it at a known point.
 */
export async function faultPoint(step: string, when: 'before' | 'effect' | 'after'): Promise<void> {
  if (process.env.PGSHIFT_FAULT_KILL === `${step}:${when}`) process.kill(process.pid, 'SIGKILL');
  const pause = process.env.PGSHIFT_FAULT_PAUSE;
  if (pause?.startsWith(`${step}:${when}:`)) {
    const ms = Number(pause.slice(step.length + when.length + 2));
    process.stderr.write(`pgshift: paused at ${step}:${when}\n`);
    if (Number.isFinite(ms) && ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Lifts the freeze on one side in an error path, before anything else is touched: through the session that placed
 * it (whatever transaction it was in is rolled back first), else through a new session. Never throws: when both
 * fail, a freeze placed before the switch still ends by itself at its deadline; what happened is logged.
 */
export async function liftFreeze(config: Config, side: 'source' | 'target', session: pg.Client): Promise<boolean> {
  const drop = { dropSchema: side === 'source' };
  try {
    await within(15_000, (async () => {
      await session.query('ROLLBACK').catch(() => undefined);
      await unfreezeWrites(session, drop);
    })());
    return true;
  } catch (first) {
    let fresh: pg.Client | undefined;
    try {
      fresh = await connectClient(endpoints(config)[side], sessionSettings(config));
      await within(15_000, unfreezeWrites(fresh, drop));
      return true;
    } catch (err) {
      logger().error(
        { side, error: scrub(err instanceof Error ? err.message : String(err)), first: scrub(first instanceof Error ? first.message : String(first)) },
        `the write freeze on the ${side} could not be lifted: it ends by itself at its deadline if the switch was not reached; else run \`pgshift rollback\` or \`pgshift unlock --freeze\``,
      );
      return false;
    } finally {
      await fresh?.end().catch(() => undefined);
    }
  }
}

/**
 * The freeze step of a cutover (the source) or a rollback (the target). Returns when the freeze began: now, or, when
 * a resumed run finds the freeze it had committed before a kill, when that one began (its budget runs since then).
 */
export async function freezeStep(
  ctl: pg.Client, id: string, name: string, o: StepOptions, client: pg.Client, relations: readonly Relation[], config: Config, resume: CutoverRow | undefined, where: string,
): Promise<number> {
  let start = resume?.frozenAt?.getTime() ?? Date.now();
  const already = resume?.frozenAt && (await frozenTables(client)).length > 0;
  if (!already) {
    start = Date.now();
    await updateRecord(ctl, id, { frozenAt: 'now' });
  }
  await step(ctl, id, name, o, async () => {
    const capped = config.cutover.maxWriteFreezeMs < config.cutover.drainTimeoutMs;
    const f = await freezeWrites(client, relations, {
      id,
      drainTimeoutMs: Math.min(config.cutover.drainTimeoutMs, config.cutover.maxWriteFreezeMs),
      onDrainTimeout: config.cutover.onDrainTimeout,
      // the server ends the freeze by itself when its budget (counted from `start`) is spent
      expiresInMs: start + config.cutover.maxWriteFreezeMs - Date.now(),
    }).catch((err: unknown) => {
      // the drain was cut short by the whole freeze's budget: say which setting stopped it
      if (capped && err instanceof PgshiftError && err.code === 'CUTOVER_ABORTED') {
        throw new PgshiftError('CUTOVER_ABORTED', `the write freeze could not start within cutover.max_write_freeze (${config.cutover.maxWriteFreezeMs} ms): write transactions were still in flight`, { hint: err.hint ?? '', cause: err });
      }
      throw err;
    });
    return { value: f, detail: `${f.tables} tables frozen on the ${where} after ${f.drainMs} ms of drain${f.terminated ? `, ${f.terminated} sessions terminated` : ''}${f.until ? `; it ends by itself at ${f.until.toISOString()} unless switched` : ''}` };
  });
  return start;
}
