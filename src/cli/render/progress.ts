import { Listr } from 'listr2';
import type { ExecutorEvent } from '../../apply/executor.js';
import { logger } from '../../log/logger.js';
import type { Action, ActionPhase } from '../../plan/model.js';

export interface ProgressView {
  onEvent(e: ExecutorEvent): void;
  /** Resolves when the view has drawn the end. */
  done(): Promise<void>;
}

const TITLES: Record<ActionPhase, string> = { 'pre-data': 'Schema (before data)', data: 'Data', 'post-data': 'Schema (after data)' };

/** Without a terminal: pino lines — every failure, and a progress line every few seconds. */
export function logProgress(actions: readonly Action[], everyMs = 3000): ProgressView {
  let finished = 0;
  let failed = 0;
  let last = 0;
  return {
    onEvent(e): void {
      const log = logger();
      switch (e.type) {
        case 'action-done':
          finished++;
          log.debug({ address: e.action.address, ms: e.ms }, 'done');
          break;
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

/** On a terminal: one listr2 task per phase with a live count. */
export function listrProgress(actions: readonly Action[]): ProgressView {
  const phases = (['pre-data', 'data', 'post-data'] as const).filter((p) => actions.some((a) => a.phase === p));
  const counts = new Map<ActionPhase, { total: number; done: number; failed: number; skipped: number; current: string }>();
  for (const p of phases) counts.set(p, { total: actions.filter((a) => a.phase === p).length, done: 0, failed: 0, skipped: 0, current: '' });
  const waiters = new Map<ActionPhase, () => void>();
  let finished = false;
  const settle = (phase: ActionPhase): void => {
    const c = counts.get(phase);
    if (c && (finished || c.done + c.failed + c.skipped >= c.total)) waiters.get(phase)?.();
  };
  const list = new Listr(
    phases.map((phase) => ({
      title: `${TITLES[phase]}: ${counts.get(phase)?.total} actions`,
      task: (_ctx: unknown, task: { title: string; output: string }) =>
        new Promise<void>((resolve, reject) => {
          const tick = setInterval(() => {
            const c = counts.get(phase);
            if (c) task.output = `${c.done}/${c.total} done${c.failed ? `, ${c.failed} failed` : ''}${c.current ? ` · ${c.current}` : ''}`;
          }, 100);
          waiters.set(phase, () => {
            clearInterval(tick);
            const c = counts.get(phase);
            task.title = `${TITLES[phase]}: ${c?.done}/${c?.total} done${c?.failed ? `, ${c.failed} failed` : ''}${c?.skipped ? `, ${c.skipped} skipped` : ''}`;
            if (c && c.failed > 0) reject(new Error(`${c.failed} failed`));
            else resolve();
          });
        }),
    })),
    { concurrent: false, exitOnError: false, rendererOptions: { collapseSubtasks: false } },
  );
  const running = list.run().catch(() => undefined);
  const phaseOf = (a: Action): ActionPhase => a.phase;
  return {
    onEvent(e): void {
      if (e.type === 'finish') {
        finished = true;
        for (const p of phases) settle(p);
        return;
      }
      if (!('action' in e)) return;
      const c = counts.get(phaseOf(e.action));
      if (!c) return;
      if (e.type === 'action-start') c.current = e.action.address;
      if (e.type === 'action-done') c.done++;
      if (e.type === 'action-failed') c.failed++;
      if (e.type === 'action-skipped') c.skipped++;
      settle(phaseOf(e.action));
    },
    done: async () => {
      await running;
    },
  };
}
