import { Listr, type ListrTask } from 'listr2';
import type { ActionMeasure, ExecutorEvent } from '../../apply/executor.js';
import { logger } from '../../log/logger.js';
import type { Action, ActionPhase } from '../../plan/model.js';
import { formatBytes } from '../../plan/stream-findings.js';
import { formatCount, formatSeconds } from './time.js';

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

/** Rows (of a copy, or checked by the verification), rows/s since the action started, percent and ETA. */
export class UnitMeter {
  rows = 0;
  bytes = 0;
  readonly started: number;
  /** `started`: when the action started (its first figure comes later, after a batch's worth of time). */
  constructor(
    readonly estimatedRows: number,
    private readonly now: () => number = Date.now,
    started?: number,
  ) {
    this.started = started ?? now();
  }
  update(rows: number, bytes = 0, estimatedRows?: number): void {
    this.rows = rows;
    this.bytes = bytes;
    if (estimatedRows !== undefined) (this as { estimatedRows: number }).estimatedRows = estimatedRows;
  }
  get seconds(): number {
    return (this.now() - this.started) / 1000;
  }
  /** Rows a second since the action started (not since its first batch: that would count the batch in no time). */
  get rate(): number {
    const s = this.seconds;
    return s > 0 ? this.rows / s : 0;
  }
  /** Seconds left at the rate so far, null when unknown. */
  get eta(): number | null {
    const left = this.estimatedRows - this.rows;
    return this.rate > 0 && left > 0 ? left / this.rate : null;
  }
  describe(noun = 'rows'): string {
    const pct = this.estimatedRows > 0 ? Math.min(100, Math.round((this.rows / this.estimatedRows) * 100)) : null;
    const eta = this.eta;
    const rate = this.rate;
    return `${formatCount(this.rows)} ${noun}${rate > 0 ? `, ${formatCount(rate)} ${noun.split(' ')[0]}/s` : ''}${pct !== null ? `, ${pct}%` : ''}${eta !== null ? `, ETA ${formatSeconds(eta)}` : ''}`;
  }
}

function estimated(a: Action): number {
  return a.kind === 'copy_table' ? a.estimatedRows : a.kind === 'large_objects' ? a.objects : 0;
}

interface Running {
  readonly action: Action;
  readonly started: number;
  /** A copy's rows, or the verification's rows checked. */
  meter?: UnitMeter;
  /** A read-back's rows hashed so far. */
  readBack?: { rows: number; rowsTotal: number };
  /** A copy unit whose table's read-back (its read_back action) matched or was recorded: `, read back`. */
  readBackDone?: boolean;
  session?: Extract<ActionMeasure, { kind: 'session' }>;
  ended?: 'done' | 'failed' | 'skipped';
  endedAt?: number;
  ms?: number;
}

/** What every view draws from: the actions running, their figures, and the copies' total. */
export class ProgressState {
  readonly copies: readonly Action[];
  private readonly runs = new Map<string, Running>();
  constructor(
    readonly actions: readonly Action[],
    private readonly now: () => number = Date.now,
  ) {
    this.copies = actions.filter((a) => a.kind === 'copy_table');
  }

  private entry(a: Action): Running {
    let r = this.runs.get(a.id);
    if (!r) {
      r = { action: a, started: this.now() };
      this.runs.set(a.id, r);
    }
    return r;
  }

  onEvent(e: ExecutorEvent): void {
    switch (e.type) {
      case 'action-start':
        this.entry(e.action);
        break;
      case 'action-progress': {
        const r = this.entry(e.action);
        r.meter ??= new UnitMeter(estimated(e.action), this.now, r.started);
        r.meter.update(e.rows, e.bytes);
        break;
      }
      case 'action-measure': {
        const r = this.entry(e.action);
        const m = e.measure;
        if (m.kind === 'read-back') r.readBack = { rows: m.rows, rowsTotal: m.rowsTotal };
        else if (m.kind === 'session') r.session = m;
        else {
          r.meter ??= new UnitMeter(m.rowsTotal, this.now, r.started);
          r.meter.update(m.rowsChecked, 0, m.rowsTotal);
        }
        break;
      }
      case 'action-done':
      case 'action-failed':
      case 'action-skipped': {
        const r = this.entry(e.action);
        r.ended = e.type === 'action-done' ? 'done' : e.type === 'action-failed' ? 'failed' : 'skipped';
        r.endedAt = this.now();
        if (e.type === 'action-done') r.ms = e.ms;
        // the copies it read back say so on their own lines
        if (e.type === 'action-done' && e.action.kind === 'read_back')
          for (const u of e.action.units) {
            const c = this.runs.get(u);
            if (c) c.readBackDone = true;
          }
        break;
      }
      default:
        break;
    }
  }

  /** Started and not ended. */
  running(phase?: ActionPhase): Running[] {
    return [...this.runs.values()].filter((r) => !r.ended && (!phase || r.action.phase === phase));
  }

  get(id: string): Running | undefined {
    return this.runs.get(id);
  }

  /** One running action with its moving figures: `index public.x (4s): building index: scanning table, 45% ...`. */
  line(r: Running): string {
    const head = `${r.action.address} (${formatSeconds((this.now() - r.started) / 1000)})`;
    const parts: string[] = [];
    if (r.action.kind === 'copy_table') {
      parts.push(r.meter ? r.meter.describe() : 'starting');
    } else if (r.action.kind === 'read_back') {
      parts.push(
        r.readBack
          ? `verifying ${formatCount(r.readBack.rows)} of ${formatCount(r.readBack.rowsTotal)} rows`
          : 'starting',
      );
    } else if (r.action.kind === 'large_objects') {
      parts.push(r.meter ? `${r.meter.describe('objects')}, ${formatBytes(r.meter.bytes)}` : 'starting');
    } else if (r.action.kind === 'verify') {
      parts.push(r.meter ? r.meter.describe('rows checked') : 'reading both catalogs');
    }
    const s = r.session;
    if (s?.phase) {
      const pct = s.total > 0 ? `, ${Math.min(100, Math.round((s.done / s.total) * 100))}%` : '';
      parts.push(`${s.phase}${pct}${s.unit ? ` (${formatCount(s.done)} of ${formatCount(s.total)} ${s.unit})` : ''}`);
    }
    if (s?.waiting) parts.push(`waiting for ${s.waiting}`);
    return parts.length > 0 ? `${head}: ${parts.join('; ')}` : head;
  }

  /** A copy's line once it ended: its rows, bytes and time. */
  ended(r: Running): string {
    const rows = r.meter?.rows ?? 0;
    const bytes = r.meter?.bytes ?? 0;
    const secs = (r.ms ?? this.now() - r.started) / 1000;
    return `${r.action.address}: ${formatCount(rows)} rows, ${formatBytes(bytes)} in ${formatSeconds(secs)}${r.readBackDone ? ', read back' : ''}`;
  }

  /** The copies as a whole: rows and bytes so far, rows/s since the first copy started, percent and ETA. */
  total(finished: boolean): string {
    let rows = 0;
    let bytes = 0;
    let first: number | null = null;
    let lastEnd = 0;
    for (const a of this.copies) {
      const r = this.runs.get(a.id);
      if (!r) continue;
      rows += r.meter?.rows ?? 0;
      bytes += r.meter?.bytes ?? 0;
      first = first === null ? r.started : Math.min(first, r.started);
      lastEnd = Math.max(lastEnd, r.endedAt ?? this.now());
    }
    const est = this.copies.reduce((n, a) => n + estimated(a), 0);
    const estBytes = this.copies.reduce((n, a) => n + (a.kind === 'copy_table' ? a.estimatedBytes : 0), 0);
    if (first === null) return `total: ~${formatCount(est)} rows, ~${formatBytes(estBytes)} to copy`;
    if (finished)
      return `total: ${formatCount(rows)} rows, ${formatBytes(bytes)} in ${formatSeconds((lastEnd - first) / 1000)}`;
    const secs = (this.now() - first) / 1000;
    const rate = secs > 0 ? rows / secs : 0;
    const pct = est > 0 ? `, ${Math.min(100, Math.round((rows / est) * 100))}%` : '';
    const eta = rate > 0 && est > rows ? `, ETA ${formatSeconds((est - rows) / rate)}` : '';
    return `total: ${formatCount(rows)} of ~${formatCount(est)} rows${pct}, ${formatBytes(bytes)}, ${formatCount(rate)} rows/s${eta}`;
  }
}

/** Without a terminal: pino lines — every failure, each running action's figures every few seconds, and a total. */
export function logProgress(actions: readonly Action[], everyMs = 3000, now: () => number = Date.now): ProgressView {
  const state = new ProgressState(actions, now);
  let finished = 0;
  let failed = 0;
  let last = 0;
  const lastLine = new Map<string, number>();
  const due = (id: string): boolean => {
    const t = now();
    if (t - (lastLine.get(id) ?? 0) < everyMs) return false;
    lastLine.set(id, t);
    return true;
  };
  return {
    onEvent(e): void {
      const log = logger();
      state.onEvent(e);
      switch (e.type) {
        case 'action-done':
          finished++;
          if (e.action.kind === 'copy_table') {
            const m = state.get(e.action.id)?.meter;
            log.info({ unit: e.action.address, rows: m?.rows ?? 0, ms: e.ms }, 'copied');
          } else log.debug({ address: e.action.address, ms: e.ms }, 'done');
          break;
        case 'action-progress': {
          const m = state.get(e.action.id)?.meter;
          if (m && due(e.action.id)) {
            log.info(
              { unit: e.action.address, rows: e.rows, bytes: e.bytes, rowsPerSecond: Math.round(m.rate) },
              `copy progress: ${m.describe(e.action.kind === 'large_objects' ? 'objects' : 'rows')}`,
            );
          }
          break;
        }
        case 'action-measure': {
          const r = state.get(e.action.id);
          if (r && due(e.action.id)) log.info({ address: e.action.address }, `progress: ${state.line(r)}`);
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
      const t = now();
      if (e.type === 'finish' || t - last >= everyMs) {
        last = t;
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

/** The two setters of a listr2 task the view uses. */
interface Drawn {
  title: string;
  output: string;
}

/**
 * On a terminal: listr2 — a task per phase with a live count and, under it, a line per running action with its
 * moving figures (elapsed time, rows, build progress, the lock it waits for); under Data a task per copy unit and
 * the total. Drawn once: nothing changes a title after the list has ended (listr2 would print the tree again).
 */
export function listrProgress(actions: readonly Action[]): ProgressView {
  const state = new ProgressState(actions);
  const phases = (['pre-data', 'data', 'post-data'] as const).filter((p) => actions.some((a) => a.phase === p));
  const counts = new Map<ActionPhase, { total: number; done: number; failed: number; skipped: number }>();
  for (const p of phases)
    counts.set(p, { total: actions.filter((a) => a.phase === p).length, done: 0, failed: 0, skipped: 0 });
  const phaseWaiters = new Map<ActionPhase, Waiter>();
  const unitWaiters = new Map<string, Waiter>();
  const copies = state.copies;
  const unitTasks = copies.length <= 50;
  const drawn = new Map<string, Drawn>(); // phase name, copy id, or 'total' -> its task
  const last = new Map<string, { title: string; output: string }>();
  let finished = false;
  let ended = false;
  let dataSettled = false;

  const set = (key: string, title: string, output = ''): void => {
    const t = drawn.get(key);
    if (!t || ended) return;
    const before = last.get(key);
    if (before?.title !== title) t.title = title;
    if ((before?.output ?? '') !== output) t.output = output;
    last.set(key, { title, output });
  };
  const phaseTitle = (phase: ActionPhase): string => {
    const c = counts.get(phase);
    if (!c) return TITLES[phase];
    return `${TITLES[phase]}: ${c.done}/${c.total} done${c.failed ? `, ${c.failed} failed` : ''}${c.skipped ? `, ${c.skipped} skipped` : ''}`;
  };
  const draw = (): void => {
    for (const phase of phases) {
      const lines = state
        .running(phase)
        .filter((r) => !(unitTasks && r.action.kind === 'copy_table'))
        .map((r) => state.line(r));
      set(phase, phaseTitle(phase), lines.join('\n'));
    }
    for (const a of copies) {
      const r = state.get(a.id);
      if (!r) continue;
      set(a.id, r.ended === 'done' ? state.ended(r) : state.line(r));
    }
    set('total', state.total(dataSettled));
  };

  const settlePhase = (phase: ActionPhase): void => {
    const c = counts.get(phase);
    if (!c || !(finished || c.done + c.failed + c.skipped >= c.total)) return;
    const w = phaseWaiters.get(phase);
    if (!w) return;
    phaseWaiters.delete(phase); // once: a later event must not touch the task again
    set(phase, phaseTitle(phase));
    if (phase === 'data') {
      dataSettled = true;
      set('total', state.total(true));
    }
    if (c.failed > 0) w.reject(new Error(`${c.failed} failed`));
    else w.resolve();
  };
  const settleUnit = (id: string): void => {
    const r = state.get(id);
    const how = r?.ended ?? (finished ? 'skipped' : undefined);
    const w = unitWaiters.get(id);
    if (!w || !how) return;
    unitWaiters.delete(id);
    if (how === 'done' && r) {
      set(id, state.ended(r));
      w.resolve();
    } else w.reject(new Error(how));
  };

  const unitTask = (a: Action): ListrTask => ({
    title: a.address,
    task: (_ctx, task) =>
      new Promise<void>((resolve, reject) => {
        drawn.set(a.id, task);
        unitWaiters.set(a.id, { resolve, reject });
        settleUnit(a.id);
      }),
  });

  const list = new Listr(
    phases.map((phase): ListrTask => ({
      title: `${TITLES[phase]}: ${counts.get(phase)?.total} actions`,
      rendererOptions: { outputBar: 1, persistentOutput: false }, // the latest lines only
      task: (_ctx, task) => {
        drawn.set(phase, task);
        const whole = new Promise<void>((resolve, reject) => {
          phaseWaiters.set(phase, { resolve, reject });
          settlePhase(phase);
        });
        if (phase === 'data' && unitTasks && copies.length > 0) {
          const total: ListrTask = {
            title: state.total(false),
            task: (_c, t) => {
              drawn.set('total', t);
              return whole;
            },
          };
          return task.newListr([...copies.map(unitTask), total], { concurrent: true, exitOnError: false });
        }
        return whole;
      },
    })),
    { concurrent: true, exitOnError: false, rendererOptions: { collapseSubtasks: false } },
  );
  const tick = setInterval(draw, 200);
  const running = list
    .run()
    .catch(() => undefined)
    .finally(() => {
      ended = true;
      clearInterval(tick);
    });
  return {
    onEvent(e): void {
      if (e.type === 'finish') {
        finished = true;
        draw();
        for (const p of phases) settlePhase(p);
        for (const a of copies) settleUnit(a.id);
        return;
      }
      state.onEvent(e);
      if (!('action' in e)) return;
      const c = counts.get(e.action.phase);
      if (!c) return;
      if (e.type === 'action-done') c.done++;
      else if (e.type === 'action-failed') c.failed++;
      else if (e.type === 'action-skipped') c.skipped++;
      else return;
      settleUnit(e.action.id);
      settlePhase(e.action.phase);
    },
    done: async () => {
      await running;
    },
  };
}

/**
 * Cutover and rollback steps as they run: on a terminal a live `> step (3s)` line that ticks until the step ends,
 * then its result and time; without one, a line per ended step with its time.
 */
export function stepProgress(
  tty: boolean,
  write: (text: string) => void,
): {
  onStep(step: string, state: 'start' | 'done', detail?: string): void;
  stop(): void;
} {
  let current: { step: string; started: number; tick?: NodeJS.Timeout } | undefined;
  const live = (): void => {
    if (current)
      process.stderr.write(`\r\x1b[2K  > ${current.step} (${formatSeconds((Date.now() - current.started) / 1000)})`);
  };
  const end = (): void => {
    if (current?.tick) clearInterval(current.tick);
    if (tty && current) process.stderr.write('\r\x1b[2K');
  };
  return {
    onStep(step, s, detail): void {
      if (s === 'start') {
        end();
        current = { step, started: Date.now() };
        if (tty) {
          live();
          current.tick = setInterval(live, 250);
        }
        return;
      }
      const started = current?.step === step ? current.started : Date.now();
      end();
      current = undefined;
      write(`  > ${step}: ${detail ?? 'done'} (${formatSeconds((Date.now() - started) / 1000)})`);
    },
    stop: end,
  };
}
