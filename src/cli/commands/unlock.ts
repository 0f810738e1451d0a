import { Args } from '@oclif/core';
import { loadConfig } from '../../config/index.js';
import { withClient } from '../../db/connect.js';
import { assertSessionPooling } from '../../db/pooler.js';
import { PgshiftError } from '../../errors/index.js';
import { endpoints, sessionSettings } from '../../plan/refresh.js';
import { appendAudit } from '../../state/audit.js';
import { forceUnlock } from '../../state/lock.js';
import { migrateState } from '../../state/migrations.js';
import { stateDb } from '../../state/db.js';
import { currentOperator } from '../../state/runs.js';
import { readState } from '../../state/snapshot.js';
import { BaseCommand } from '../base-command.js';
import { configFlag, jsonFlag } from '../flags.js';
import { writeJson, writeOut } from '../output.js';

export default class Unlock extends BaseCommand {
  static override description = 'Release a lock left by a dead run (like terraform force-unlock): ends its session if it still lives.';
  static override flags = { config: configFlag, json: jsonFlag };
  static override args = { lockId: Args.string({ description: 'The lock id printed by LOCK_HELD or status.', required: true }) };

  async run(): Promise<void> {
    const { flags, args } = await this.parse(Unlock);
    const config = loadConfig(flags.config);
    const eps = endpoints(config);
    // behind a transaction pooler the holder's backend and ours are anyone's: refuse, as every lock taker does
    await assertSessionPooling([eps.target], sessionSettings(config));
    const result = await withClient(eps.target, sessionSettings(config), async (c) => {
      if (!(await readState(c)).exists) {
        throw new PgshiftError('LOCK_NOT_FOUND', 'the target has no pgshift state, so no lock', { hint: 'Nothing to unlock.' });
      }
      const result = await forceUnlock(c, args.lockId);
      await migrateState(stateDb(c)); // the audit trail needs the current state layout
      await appendAudit(c, { command: 'unlock', ...currentOperator(), runId: result.holder.runId, outcome: result.terminated ? 'released, session ended' : 'released' });
      return result;
    });
    if (flags.json) writeJson(result);
    else writeOut(`Released lock ${args.lockId} of ${result.holder.command} run ${result.holder.runId} (${result.holder.operator} on ${result.holder.host})${result.terminated ? '; its session was ended' : ''}.`);
  }
}
