import type pg from 'pg';
import { asPgshiftError } from '../errors/index.js';
import { isTransient } from '../db/retry.js';
import type { Action, ActionPhase } from '../plan/model.js';
import { byRank, criticalPathRanks, ownSeconds } from './priority.js';

/**
 * A moving figure of a running action other than a copy's rows: the read-back of a copied table, the verification's
 * rows checked, or the server's own progress of an index or constraint build (pg_stat_progress_create_index) and
 * whether its session waits for a lock.
 */
export type ActionMeasure =
  | { readonly kind: 'read-back'; readonly rows: number; readonly rowsTotal: number }
  | { readonly kind: 'verify'; readonly rowsChecked: number; readonly rowsTotal: number }
  | {
      readonly kind: 'session';
      /** The build's phase (pg_stat_progress_create_index), null when the statement reports none. */
      readonly phase: string | null;
      readonly done: number;
      readonly total: number;
      readonly unit: 'blocks' | 'tuples' | 'lockers' | 'partitions' | null;
      /** What the session waits for (`Lock: relation`), null when it runs. */
      readonly waiting: string | null;
    };

export type ExecutorEvent =
  | { readonly type: 'start'; readonly total: number; readonly actions: readonly Action[] }
  | { readonly type: 'action-start'; readonly action: Action }
  | { readonly type: 'action-done'; readonly action: Action; readonly ms: number }
  | { readonly type: 'action-progress'; readonly action: Action; readonly rows: number; readonly bytes: number }
  | { readonly type: 'action-measure'; readonly action: Action; readonly measure: ActionMeasure }
  | { readonly type: 'action-retry'; readonly action: Action; readonly attempt: number; readonly reason: string }
  | { readonly type: 'action-failed'; readonly action: Action; readonly code: string; readonly message: string }
  | { readonly type: 'action-skipped'; readonly action: Action; readonly because: string }
  | { readonly type: 'stopping' }
  | { readonly type: 'finish'; readonly result: ExecutionResult };

export interface ExecutionResult {
  readonly done: readonly string[];
  readonly failed: ReadonlyArray<{ readonly id: string; readonly code: string; readonly message: string }>;
  readonly skipped: readonly string[];
  readonly notStarted: readonly string[];
  readonly interrupted: boolean;
}

/** What a running action tells the walk. */
export interface ActionHooks {
  /**
   * An attaching build has built its index and now waits for its table's other holders to end: no further holder
   * of that table starts until it has attached (each would only make the wait, and the slot it holds, longer).
   */
  attachPending(): void;
}

export interface ExecutorOptions {
  readonly concurrency: number;
  /**
   * Slots lent while attaching builds wait to attach (such a wait only polls pg_locks, holding its session): at most
   * this many actions beyond `concurrency` then. 0 when absent.
   */
  readonly spare?: number;
  /** Opens a target session for a worker (with session settings). */
  openWorker(): Promise<pg.Client>;
  /** Runs one action on a worker's client; must commit its effect and its state row together. */
  run(action: Action, client: pg.Client, hooks: ActionHooks): Promise<void>;
  readonly signal?: AbortSignal;
  onEvent?(event: ExecutorEvent): void;
  /** Attempts for an action that fails for a transient reason (connection lost, deadlock, serialization). */
  readonly attempts?: number;
  /**
   * Called once for each action as soon as its dependencies are done and its phase is open, before a slot is free
   * for it: the apply makes a copy unit claimable there by `pgshift worker`s (the queue of pgshift.work_units).
   */
  onReady?(action: Action): void;
}

// data and after-data share a level: an index or foreign key starts as soon as the copies it depends on are done
// (the plan wires those dependencies), while other tables are still copying.
const PHASE_ORDER: Record<ActionPhase, number> = { 'pre-data': 0, data: 1, 'post-data': 1 };

/**
 * How an action holds its table locks in the walk: `alone`; `shared` with other shared and attaching holders (a
 * CREATE INDEX takes a SHARE lock, which other index builds on that table also take, and PostgreSQL runs them side
 * by side; a read-back of a copy digest only reads); `attach`: shared while it builds an index, then a brief ACCESS
 * EXCLUSIVE to attach it (a primary key or unique constraint USING INDEX, a replica identity): beside shared
 * holders, but never beside another attaching one (each would wait for the other's SHARE lock: a deadlock). So a
 * large table's primary key and indexes build at once instead of one after another. Everything else (ALTER TABLE
 * ... ADD CONSTRAINT with its definition, a foreign key's validation, a copy, a trigger) holds its locks alone.
 */
export function lockModeOf(a: Action): 'alone' | 'shared' | 'attach' {
  if (a.kind === 'read_back') return 'shared';
  if (a.kind === 'create_object' && a.lockMode) return a.lockMode;
  return 'alone';
}

/**
 * Walks the action graph: schema before data first, then data and after-data objects; every action whose
 * dependencies are done and whose table locks are free, at most `concurrency` at once, the one with the longest
 * chain of work after it first (src/apply/priority.ts). A failed action skips what
 * depends on it (transitively) and lets independent work finish. An abort stops scheduling; running actions end
 * (each is one transaction), the rest is reported as not started. So does an action that finds the run's lock gone
 * (LOCK_HELD from the lock fence every handler checks before its effect): another run owns the target now.
 */
export async function execute(actions: readonly Action[], opts: ExecutorOptions): Promise<ExecutionResult> {
  const emit = (e: ExecutorEvent): void => opts.onEvent?.(e);
  const byId = new Map(actions.map((a) => [a.id, a]));
  const pending = new Map(actions.map((a) => [a.id, a]));
  const running = new Map<string, Promise<void>>();
  // lock -> how many actions hold it shared (attaching ones included), or -1 when one holds it alone
  const heldLocks = new Map<string, number>();
  // locks an attaching action holds (at most one per lock)
  const attaching = new Set<string>();
  // locks whose attaching holder waits to attach: closed to new holders until it is done
  const closing = new Set<string>();
  // attaching builds that wait and lend their slot (at most opts.spare)
  const lending = new Set<string>();
  let wake: () => void = () => undefined;
  const lockFree = (a: Action): boolean => {
    const mode = lockModeOf(a);
    return a.locks.every((l) => {
      const held = heldLocks.get(l);
      if (held === undefined) return true;
      return mode !== 'alone' && held > 0 && !(mode === 'attach' && attaching.has(l)) && !closing.has(l);
    });
  };
  const takeLocks = (a: Action): void => {
    const mode = lockModeOf(a);
    for (const l of a.locks) {
      heldLocks.set(l, mode === 'alone' ? -1 : (heldLocks.get(l) ?? 0) + 1);
      if (mode === 'attach') attaching.add(l);
    }
  };
  const releaseLocks = (a: Action): void => {
    const mode = lockModeOf(a);
    for (const l of a.locks) {
      const held = heldLocks.get(l) ?? 0;
      if (held > 1) heldLocks.set(l, held - 1);
      else heldLocks.delete(l);
      if (mode === 'attach') {
        attaching.delete(l);
        closing.delete(l);
      }
    }
  };
  const done: string[] = [];
  const failed: Array<{ id: string; code: string; message: string }> = [];
  const skipped: string[] = [];
  const stopped: string[] = [];
  const idle: pg.Client[] = [];
  const all: pg.Client[] = [];
  const bad = new Set<string>(); // failed or skipped ids
  // an action found the run's lock gone (unlock, or taken over): start nothing more, let running ones end
  let lockLost = false;
  const maxAttempts = opts.attempts ?? 3;
  // among the actions that may start, the longest chain of work after them first (src/apply/priority.ts)
  const order = byRank(actions, criticalPathRanks(actions), ownSeconds(actions));
  const announced = new Set<string>();
  emit({ type: 'start', total: actions.length, actions });

  const acquireClient = async (): Promise<pg.Client> => {
    const c = idle.pop();
    if (c) return c;
    const fresh = await opts.openWorker();
    all.push(fresh);
    return fresh;
  };
  const dropClient = async (c: pg.Client): Promise<void> => {
    all.splice(all.indexOf(c), 1);
    await c.end().catch(() => undefined);
  };

  const runOne = async (a: Action): Promise<void> => {
    const started = performance.now();
    emit({ type: 'action-start', action: a });
    for (let attempt = 1; ; attempt++) {
      let client: pg.Client | undefined;
      try {
        client = await acquireClient();
        await opts.run(a, client, {
          attachPending: () => {
            if (lockModeOf(a) !== 'attach') return;
            for (const l of a.locks) closing.add(l);
            if (lending.size < (opts.spare ?? 0) && !lending.has(a.id)) {
              lending.add(a.id);
              wake();
            }
          },
        });
        idle.push(client);
        done.push(a.id);
        emit({ type: 'action-done', action: a, ms: Math.round(performance.now() - started) });
        return;
      } catch (err) {
        if (client) await dropClient(client); // its session may be broken or mid-transaction: never reuse it
        if (attempt < maxAttempts && isTransient(err) && !opts.signal?.aborted) {
          emit({ type: 'action-retry', action: a, attempt, reason: (err as Error).message });
          await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt * Math.random() + 100)));
          continue;
        }
        const e = asPgshiftError(err);
        if (e.code === 'INTERRUPTED' && opts.signal?.aborted) {
          stopped.push(a.id); // stopped cleanly between two committed batches: it resumes next time
          return;
        }
        failed.push({ id: a.id, code: e.code, message: e.message });
        bad.add(a.id);
        if (e.code === 'LOCK_HELD' && !lockLost) {
          lockLost = true;
          emit({ type: 'stopping' });
        }
        emit({ type: 'action-failed', action: a, code: e.code, message: e.message });
        return;
      }
    }
  };

  const phaseOpen = (a: Action): boolean => {
    const p = PHASE_ORDER[a.phase];
    for (const other of pending.values()) if (PHASE_ORDER[other.phase] < p) return false;
    for (const id of running.keys()) if (PHASE_ORDER[(byId.get(id) as Action).phase] < p) return false;
    return true;
  };

  // one listener for the whole walk (not one per pass)
  const aborted = opts.signal
    ? new Promise<void>((resolve) => {
        if (opts.signal?.aborted) resolve();
        opts.signal?.addEventListener('abort', () => resolve(), { once: true });
      })
    : new Promise<void>(() => undefined);
  try {
    while (pending.size > 0 || running.size > 0) {
      if (!opts.signal?.aborted && !lockLost && opts.onReady) {
        for (const a of pending.values()) {
          if (announced.has(a.id) || a.dependsOn.some((d) => pending.has(d) || running.has(d) || bad.has(d))) continue;
          if (!phaseOpen(a)) continue;
          announced.add(a.id);
          opts.onReady(a);
        }
      }
      if (!opts.signal?.aborted && !lockLost) {
        for (const a of order.filter((x) => pending.has(x.id))) {
          if (running.size - lending.size >= opts.concurrency) break;
          const badDep = a.dependsOn.find((d) => bad.has(d));
          if (badDep) {
            pending.delete(a.id);
            bad.add(a.id);
            skipped.push(a.id);
            emit({ type: 'action-skipped', action: a, because: badDep });
            continue;
          }
          if (!phaseOpen(a)) continue;
          if (a.dependsOn.some((d) => pending.has(d) || running.has(d))) continue;
          if (!lockFree(a)) continue;
          pending.delete(a.id);
          takeLocks(a);
          const p = runOne(a).finally(() => {
            running.delete(a.id);
            lending.delete(a.id);
            releaseLocks(a);
          });
          running.set(a.id, p);
        }
      }
      if (running.size === 0) {
        if (opts.signal?.aborted || lockLost || pending.size === 0) break;
        // nothing runnable and nothing running: only skips were left to find on the next pass
        const progress = [...pending.values()].some((a) => a.dependsOn.some((d) => bad.has(d)));
        if (!progress)
          throw new Error(
            `the plan's dependency graph cannot progress (cycle among ${[...pending.keys()].slice(0, 3).join(', ')})`,
          );
        continue;
      }
      // an attaching build that lends its slot wakes the walk too
      const woken = new Promise<void>((resolve) => (wake = resolve));
      await Promise.race([...running.values(), aborted, woken]);
      if (opts.signal?.aborted) {
        emit({ type: 'stopping' });
        await Promise.allSettled([...running.values()]);
        break;
      }
    }
  } finally {
    await Promise.all(all.map((c) => c.end().catch(() => undefined)));
  }
  const result: ExecutionResult = {
    done,
    failed,
    skipped,
    notStarted: [...stopped, ...pending.keys()],
    interrupted: opts.signal?.aborted === true && pending.size + stopped.length > 0,
  };
  emit({ type: 'finish', result });
  return result;
}
