import type pg from 'pg';
import { PgshiftError } from '../../errors/index.js';
import { freezeWrites, frozenTables, type Relation } from '../freeze.js';
import { updateRecord } from '../../state/cutover.js';
import { recordStep, recorded, type StepContext } from '../step.js';
import type { CutoverStep } from './cutover-context.js';

/**
 * The freeze of a cutover (the source) or a rollback (the target). Sets `ctx.frozeAt`, when the freeze began: now,
 * or, when a resumed run finds the freeze it had committed before a kill, when that one began (its budget runs
 * since then).
 */
export async function freezeSide(
  ctx: StepContext,
  name: string,
  client: pg.Client,
  relations: readonly Relation[],
  where: string,
): Promise<void> {
  const { config, resume, id } = ctx;
  let start = resume?.frozenAt?.getTime() ?? Date.now();
  const already = resume?.frozenAt && (await frozenTables(client)).length > 0;
  if (!already) {
    start = Date.now();
    await updateRecord(ctx.s.control, id, { frozenAt: 'now' });
  }
  await recordStep(ctx, name, async () => {
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
        throw new PgshiftError(
          'CUTOVER_ABORTED',
          `the write freeze could not start within cutover.max_write_freeze (${config.cutover.maxWriteFreezeMs} ms): write transactions were still in flight`,
          { hint: err.hint ?? '', cause: err },
        );
      }
      throw err;
    });
    return {
      value: f,
      detail: `${f.tables} tables frozen on the ${where} after ${f.drainMs} ms of drain${f.terminated ? `, ${f.terminated} sessions terminated` : ''}${f.until ? `; it ends by itself at ${f.until.toISOString()} unless switched` : ''}`,
    };
  });
  ctx.frozeAt = start;
}

/** The write freeze on the source: its budget counts from the first lock request (writers wait from then). */
export const freeze: CutoverStep = {
  name: 'freeze',
  title: () => 'freeze writes on source',
  describe: ({ config, set }) =>
    `${set.relations.length} tables refuse writes; in-flight writes get ${config.cutover.drainTimeoutMs} ms (then ${config.cutover.onDrainTimeout})`,
  done: (r) => recorded(r, 'freeze'),
  run: (ctx) => freezeSide(ctx, 'freeze', ctx.s.source, ctx.set.relations, 'source'),
};
