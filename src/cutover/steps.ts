import type pg from 'pg';
import type { Config } from '../config/types.js';
import { connectClient } from '../db/connect.js';
import { assertSessionPooling } from '../db/pooler.js';
import { PgshiftError } from '../errors/index.js';
import { logger } from '../log/logger.js';
import { endpoints, sessionSettings } from '../plan/refresh.js';
import { freezeWrites, frozenTables, type Relation } from './freeze.js';
import { updateRecord, type CutoverRow } from './record.js';

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
  faultPoint(name, 'before');
  const r = await fn();
  faultPoint(name, 'effect');
  const ms = Math.round(performance.now() - started);
  await updateRecord(ctl, id, { step: name, done: { step: name, ms, detail: r.detail }, ...(r.counts ? { counts: r.counts } : {}) });
  faultPoint(name, 'after');
  o.onStep?.(name, 'done', r.detail);
  logger().debug({ step: name, ms }, `${name} done`);
  return r.value;
}


/**
 * Crash testing: PGSHIFT_FAULT_KILL=<step>:<before|effect|after> makes the process SIGKILL itself at that point of
 * a cutover or rollback step (before it, after its effect but before its record, after its record). The tests
 * prove that every such crash leaves a state from which `cutover` or `rollback` completes.
 */
function faultPoint(step: string, when: 'before' | 'effect' | 'after'): void {
  if (process.env.PGSHIFT_FAULT_KILL === `${step}:${when}`) process.kill(process.pid, 'SIGKILL');
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
    }).catch((err: unknown) => {
      // the drain was cut short by the whole freeze's budget: say which setting stopped it
      if (capped && err instanceof PgshiftError && err.code === 'CUTOVER_ABORTED') {
        throw new PgshiftError('CUTOVER_ABORTED', `the write freeze could not start within cutover.max_write_freeze (${config.cutover.maxWriteFreezeMs} ms): write transactions were still in flight`, { hint: err.hint ?? '', cause: err });
      }
      throw err;
    });
    return { value: f, detail: `${f.tables} tables frozen on the ${where} after ${f.drainMs} ms of drain${f.terminated ? `, ${f.terminated} sessions terminated` : ''}` };
  });
  return start;
}
