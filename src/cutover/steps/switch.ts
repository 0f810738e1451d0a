import { PgshiftError } from '../../errors/index.js';
import { logger } from '../../log/logger.js';
import { redactUrl, scrub } from '../../log/redact.js';
import { removeUnusableBackups } from '../backups.js';
import {
  backupPath,
  readEnvFile,
  readEnvValue,
  setEnvValue,
  sha256,
  writeBackup,
  writeFileAtomic,
} from '../env-file.js';
import { makeFreezePermanent } from '../freeze.js';
import { recordById, updateRecord } from '../../state/cutover.js';
import { recordStep, recorded } from '../step.js';
import { switchOf, type CutoverContext, type CutoverStep } from './cutover-context.js';

/**
 * The switch point: the source's freeze becomes permanent first (refused when its deadline came first: then the
 * switch does not happen), so a crash from here on cannot leave the source taking writes after the switch.
 */
async function seal(ctx: CutoverContext): Promise<void> {
  if (ctx.progress.phase === 'switched') return; // resumed after the switch was recorded: the freeze is on purpose now
  ctx.deadline().check('the switch');
  await makeFreezePermanent(ctx.s.source, ctx.id, ctx.set.relations, {
    side: 'source',
    budgetMs: ctx.config.cutover.maxWriteFreezeMs,
  });
}

/** The switch recorded (switched_at): from its commit on, the error path keeps the freeze (the state decides while it is unknown). */
async function recordSwitch(ctx: CutoverContext): Promise<void> {
  ctx.progress.phase = 'recording-switch';
  await updateRecord(ctx.s.control, ctx.id, { switchedAt: 'now' });
  ctx.progress.phase = 'switched';
}

/** The env-file switch: the old value to a 0600 backup next to the file, then the file rewritten atomically. */
export const switchEnvFile: CutoverStep = {
  name: 'switching',
  title: ({ config }) => `switch ${switchOf(config).variable}`,
  describe: ({ config }) => {
    const sw = switchOf(config);
    return `in ${sw.envFile} to ${redactUrl(sw.value)} (the old value kept in a 0600 backup next to it)`;
  },
  done: (r) => recorded(r, 'switching'),
  run: async (ctx) => {
    const sw = switchOf(ctx.config);
    const ctl = ctx.s.control;
    await recordStep(ctx, 'switching', async () => {
      await seal(ctx);
      const backup = backupPath(sw.envFile, ctx.id);
      const text = readEnvFile(sw.envFile);
      const current = readEnvValue(text, sw.variable);
      // resumed after the file was written: the backup already holds the old value
      if (current === sw.value && !(await recordById(ctl, ctx.id))?.backupFile) {
        throw new PgshiftError(
          'ENV_FILE_INVALID',
          `${sw.variable} in ${sw.envFile} already holds the new value, and pgshift has no backup of the value before it`,
          {
            hint: `A rollback could not restore it. Put the application's current value back in ${sw.envFile}, then run \`pgshift cutover\` again.`,
          },
        );
      }
      if (current !== sw.value) {
        writeBackup(backup, sw.variable, current);
        await updateRecord(ctl, ctx.id, { backupFile: backup, oldValueSha256: sha256(current) });
        ctx.progress.backupFile = backup;
        writeFileAtomic(sw.envFile, setEnvValue(text, sw.variable, sw.value));
      }
      await recordSwitch(ctx);
      // a rollback reverts this cutover from now on, never an earlier one: their backups (old URLs, passwords) go
      const removed = await removeUnusableBackups(ctl, { keep: ctx.id }).catch((err: unknown) => {
        logger().warn({ error: scrub(String(err)) }, 'the env backups of earlier cutovers could not be removed');
        return [];
      });
      return {
        value: undefined,
        detail: `${sw.variable} in ${sw.envFile} now points at ${redactUrl(sw.value)}${removed.length > 0 ? `; ${removed.length} backup(s) of earlier cutovers removed` : ''}`,
      };
    });
  },
};

/** Without cutover.switch: the switch point alone (the operator points the application at the target). */
export const switchPoint: CutoverStep = {
  name: 'switched',
  hidden: true,
  title: () => '',
  describe: () => '',
  done: (r) => r.switchedAt !== null,
  run: async (ctx) => {
    await seal(ctx);
    await recordSwitch(ctx);
  },
};
