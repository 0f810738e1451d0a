import { Listr, type ListrTask } from 'listr2';
import type { ExecutorEvent } from '../../apply/executor.js';
import { logger } from '../../log/logger.js';
import type { Action, ActionPhase } from '../../plan/model.js';

export interface ProgressView {
  onEvent(e: ExecutorEvent): void;
  /** Resolves when the view has drawn the end. */
  done(): Promise<void>;
}

const TITLES: Record<ActionPhase, string> = {
  'pre-data': 'Schema (before data)',
  data: 'Data',
  'post-data': 'Schema (after data)',
};

/** Rows, rows/s, percent of the estimate and ETA of one copy unit. */
export class UnitMeter {
  rows = 0;
  bytes = 0;
  private readonly started = Date.now();
  constructor(readonly estimatedRows: number) {}
  update(rows: number, bytes: number): void {
    this.rows = rows;
    this.bytes = bytes;
  }
  get rate(): number {
    const s = (Date.now() - this.started) / 1000;
    return s > 0 ? this.rows / s : 0;
  }
  describe(): string {
    const pct = this.estimatedRows > 0 ? Math.min(100, Math.round((this.rows / this.estimatedRows) * 100)) : null;
    const left = this.estimatedRows - this.rows;
    const eta = this.rate > 0 && left > 0 ? Math.round(left / this.rate) : null;
    return `${this.rows.toLocaleString('en-US')} rows, ${Math.round(this.rate).toLocaleString('en-US')} rows/s${pct !== null ? `, ${pct}%` : ''}${eta !== null ? `, ETA ${eta}s` : ''}`;
  }
}

function estimated(a: Action): number {
  return a.kind === 'copy_table' ? a.estimatedRows : 0;
}

/** Without a terminal: pino lines — every failure, a line per copy unit every few seconds, and a total. */
export function logProgress(actions: readonly Action[], everyMs = 3000): ProgressView {
  let finished = 0;
  let failed = 0;
  let last = 0;
  const meters = new Map<string, { meter: UnitMeter; last: number }>();
  return {
    onEvent(e): void {
      const log = logger();
      switch (e.type) {
        case 'action-done':
          finished++;
          if (e.action.kind === 'copy_table') {
            const m = meters.get(e.action.id)?.meter;
            log.info({ unit: e.action.address, rows: m?.rows ?? 0, ms: e.ms }, 'copied');
          } else log.debug({ address: e.action.address, ms: e.ms }, 'done');
          break;
        case 'action-progress': {
          const entry = meters.get(e.action.id) ?? { meter: new UnitMeter(estimated(e.action)), last: 0 };
          meters.set(e.action.id, entry);
          entry.meter.update(e.rows, e.bytes);
          if (Date.now() - entry.last >= everyMs) {
            entry.last = Date.now();
            log.info(
              { unit: e.action.address, rows: e.rows, bytes: e.bytes, rowsPerSecond: Math.round(entry.meter.rate) },
              `copy progress: ${entry.meter.describe()}`,
            );
          }
          break;
        }
        case 'action-failed':
          failed++;
          log.error({ address: e.action.address, code: e.code }, e.message);
          break;
        case 'action-skipped':
          log.warn({ address: e.action.address, because: e.because }, 'skipped: a dependency failed');
          break;
        case 'action-retry':
          log.warn({ address: e.action.address, attempt: e.attempt, reason: e.reason }, 'retrying');
          break;
        case 'stopping':
          log.warn('stopping: letting running actions finish their transaction');
          break;
        default:
          break;
      }
      const now = Date.now();
      if (e.type === 'finish' || now - last >= everyMs) {
        last = now;
        log.info({ done: finished, failed, total: actions.length }, 'apply progress');
      }
    },
    done: async () => undefined,
  };
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/** On a terminal: listr2 — a task per phase with a live count, and under Data a task per copy unit. */
export function listrProgress(actions: readonly Action[]): ProgressView {
  const phases = (['pre-data', 'data', 'post-data'] as const).filter((p) => actions.some((a) => a.phase === p));
  const counts = new Map<ActionPhase, { total: number; done: number; failed: number; skipped: number }>();
  for (const p of phases)
    counts.set(p, { total: actions.filter((a) => a.phase === p).length, done: 0, failed: 0, skipped: 0 });
  const meters = new Map<string, UnitMeter>();
  const ended = new Map<string, 'done' | 'failed' | 'skipped'>();
  const phaseWaiters = new Map<ActionPhase, Waiter>();
  const unitWaiters = new Map<string, Waiter>();
  const copies = actions.filter((a) => a.kind === 'copy_table');
  let finished = false;

  const settlePhase = (phase: ActionPhase): void => {
    const c = counts.get(phase);
    if (!c || !(finished || c.done + c.failed + c.skipped >= c.total)) return;
    const w = phaseWaiters.get(phase);
    if (!w) return;
    if (c.failed > 0) w.reject(new Error(`${c.failed} failed`));
    else w.resolve();
  };
  const settleUnit = (id: string): void => {
    const state = ended.get(id) ?? (finished ? 'skipped' : undefined);
    const w = unitWaiters.get(id);
    if (!w || !state) return;
    if (state === 'done') w.resolve();
    else w.reject(new Error(state));
  };

  const unitTask = (a: Action): ListrTask => ({
    title: a.address,
    task: (_ctx, task) =>
      new Promise<void>((resolve, reject) => {
        const tick = setInterval(() => {
          const m = meters.get(a.id);
          if (m) task.title = `${a.address}: ${m.describe()}`;
        }, 200);
        unitWaiters.set(a.id, {
          resolve: () => {
            clearInterval(tick);
            task.title = `${a.address}: ${(meters.get(a.id)?.rows ?? 0).toLocaleString('en-US')} rows`;
            resolve();
          },
          reject: (err) => {
            clearInterval(tick);
            reject(err);
          },
        });
        settleUnit(a.id);
      }),
  });

  const list = new Listr(
    phases.map((phase): ListrTask => ({
      title: `${TITLES[phase]}: ${counts.get(phase)?.total} actions`,
      task: (_ctx, task) => {
        const whole = new Promise<void>((resolve, reject) => {
          const tick = setInterval(() => {
            const c = counts.get(phase);
            if (c) task.title = `${TITLES[phase]}: ${c.done}/${c.total} done${c.failed ? `, ${c.failed} failed` : ''}`;
          }, 200);
          phaseWaiters.set(phase, {
            resolve: () => {
              clearInterval(tick);
              const c = counts.get(phase);
              task.title = `${TITLES[phase]}: ${c?.done}/${c?.total} done${c?.skipped ? `, ${c.skipped} skipped` : ''}`;
              resolve();
            },
            reject: (err) => {
              clearInterval(tick);
              reject(err);
            },
          });
          settlePhase(phase);
        });
        if (phase === 'data' && copies.length <= 50) {
          return task.newListr([...copies.map(unitTask), { title: 'total', task: () => whole }], {
            concurrent: true,
            exitOnError: false,
          });
        }
        return whole;
      },
    })),
    { concurrent: true, exitOnError: false, rendererOptions: { collapseSubtasks: false } },
  );
  const running = list.run().catch(() => undefined);
  return {
    onEvent(e): void {
      if (e.type === 'finish') {
        finished = true;
        for (const p of phases) settlePhase(p);
        for (const a of copies) settleUnit(a.id);
        return;
      }
      if (!('action' in e)) return;
      const c = counts.get(e.action.phase);
      if (e.type === 'action-progress') {
        const m = meters.get(e.action.id) ?? new UnitMeter(estimated(e.action));
        meters.set(e.action.id, m);
        m.update(e.rows, e.bytes);
        return;
      }
      if (!c) return;
      if (e.type === 'action-done') {
        c.done++;
        ended.set(e.action.id, 'done');
      }
      if (e.type === 'action-failed') {
        c.failed++;
        ended.set(e.action.id, 'failed');
      }
      if (e.type === 'action-skipped') {
        c.skipped++;
        ended.set(e.action.id, 'skipped');
      }
      settleUnit(e.action.id);
      settlePhase(e.action.phase);
    },
    done: async () => {
      await running;
    },
  };
}
