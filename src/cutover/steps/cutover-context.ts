import type { Config } from '../../config/types.js';
import type { AppUrlOptions } from '../health.js';
import type { Step, StepContext } from '../step.js';
import type { TableSync } from '../sync.js';

/**
 * Where a running cutover stands, kept in memory so that its error path does not depend on the target answering:
 * before the switch (the freeze is lifted), while the switch is being recorded (unknown: the state decides), after.
 */
export interface Progress {
  phase: 'before' | 'recording-switch' | 'switched';
  backupFile: string | null;
}

export interface SyncTotals {
  readonly tables: number;
  readonly written: number;
  readonly deleted: number;
}

export function totals(list: readonly TableSync[]): SyncTotals {
  return {
    tables: list.length,
    written: list.reduce((n, t) => n + t.written, 0),
    deleted: list.reduce((n, t) => n + t.deleted, 0),
  };
}

/** What the steps of a cutover share and hand on to the next ones (and to the result). */
export interface CutoverContext extends StepContext {
  readonly progress: Progress;
  catchUp: TableSync[];
  final: TableSync[];
  /** Whether the final sync of this process ran after a catch-up of this process (then it proved the others unchanged). */
  finalRan: boolean;
  sequences: number;
  verificationId: string | null;
  /** From the first write refused on the source to the application using the target (after the switch command). */
  freezeMs: number | null;
}

export type CutoverStep = Step<CutoverContext>;

/** How the health checks reach the application URL: TLS as the target's, its tables as the target names them. */
export function healthOptions(config: Config, ctx: Pick<CutoverContext, 'set'>): AppUrlOptions {
  return {
    tables: ctx.set.pairs.slice(0, 3).map((p) => ({ schema: p.target.schema, name: p.target.name })),
    ...(config.target.caFile ? { caFile: config.target.caFile } : {}),
    ...(config.target.sslMode ? { sslMode: config.target.sslMode } : {}),
  };
}

/** The configured switch (cutover.switch); the steps that use it are only in the list when it is set. */
export function switchOf(config: Config): NonNullable<Config['cutover']['switch']> {
  const sw = config.cutover.switch;
  if (!sw) throw new Error('cutover.switch is not configured');
  return sw;
}
