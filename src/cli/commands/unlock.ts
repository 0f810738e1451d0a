import { Args, Flags } from '@oclif/core';
import { loadConfig } from '../../config/index.js';
import { liftFreezes, type LiftResult } from '../../cutover/lift.js';
import { withClient } from '../../db/connect.js';
import { assertSessionPooling } from '../../db/pooler.js';
import { PgshiftError } from '../../errors/index.js';
import { endpoints, sessionSettings } from '../../db/endpoints.js';
import { appendAudit } from '../../state/audit.js';
import { forceUnlock, type UnlockResult } from '../../state/lock.js';
import { migrateState } from '../../state/migrations.js';
import { stateDb } from '../../state/db.js';
import { currentOperator } from '../../state/runs.js';
import { readState } from '../../state/snapshot.js';
import { BaseCommand } from '../base-command.js';
import { configFlag, jsonFlag } from '../flags.js';
import { writeJson, writeOut } from '../output.js';

function describeLift(r: LiftResult): string {
  const side = (name: string, s: LiftResult['source']): string =>
    s.was === 'none'
      ? `the ${name} had no write freeze`
      : `the ${name}'s write freeze (${s.was}) is lifted: ${s.tables} table(s) take writes`;
  const text = `${side('source', r.source)}; ${side('target', r.target)}.`;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export default class Unlock extends BaseCommand {
  static override description =
    'Release a lock left by a dead run (like terraform force-unlock): ends its session if it still lives. With --freeze: lift a write freeze pgshift left in force (after a crash, or with no state left).';
  static override flags = {
    config: configFlag,
    freeze: Flags.boolean({
      description:
        'Lift the write freeze pgshift left on the source and the target (refused where the application would then write to both sides).',
      default: false,
    }),
    json: jsonFlag,
  };
  static override args = {
    lockId: Args.string({ description: 'The lock id printed by LOCK_HELD or status.', required: false }),
  };

  async run(): Promise<void> {
    const { flags, args } = await this.parse(Unlock);
    if (!args.lockId && !flags.freeze) {
      throw new PgshiftError('USAGE', 'pgshift unlock needs a LOCK_ID, or --freeze', {
        hint: 'Run `pgshift status` for the lock id, or `pgshift unlock --freeze` to lift a write freeze.',
      });
    }
    const config = loadConfig(flags.config);
    const eps = endpoints(config);
    // behind a transaction pooler the holder's backend and ours are anyone's: refuse, as every lock taker does
    await assertSessionPooling(flags.freeze ? [eps.source, eps.target] : [eps.target], sessionSettings(config));
    let lock: UnlockResult | undefined;
    if (args.lockId) {
      const lockId = args.lockId;
      lock = await withClient(eps.target, sessionSettings(config), async (c) => {
        if (!(await readState(c)).exists) {
          throw new PgshiftError('LOCK_NOT_FOUND', 'the target has no pgshift state, so no lock', {
            hint: flags.freeze ? 'Run `pgshift unlock --freeze` alone.' : 'Nothing to unlock.',
          });
        }
        const result = await forceUnlock(c, lockId);
        await migrateState(stateDb(c)); // the audit trail needs the current state layout
        await appendAudit(c, {
          command: 'unlock',
          ...currentOperator(),
          runId: result.holder.runId,
          outcome: result.terminated ? 'released, session ended' : 'released',
        });
        return result;
      });
      if (!flags.json)
        writeOut(
          `Released lock ${lockId} of ${lock.holder.command} run ${lock.holder.runId} (${lock.holder.operator} on ${lock.holder.host})${lock.terminated ? '; its session was ended' : ''}.`,
        );
    }
    const lifted = flags.freeze ? await liftFreezes(config) : undefined;
    if (lifted && !flags.json) writeOut(describeLift(lifted));
    if (flags.json) writeJson(lifted ? { ...(lock ?? {}), freeze: lifted } : lock);
  }
}
