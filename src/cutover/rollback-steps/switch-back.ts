import { existsSync } from 'node:fs';
import { redactUrl } from '../../log/redact.js';
import { readBackup, readEnvFile, readEnvValue, setEnvValue, writeFileAtomic } from '../env-file.js';
import { updateRecord } from '../../state/cutover.js';
import { recordStep, recorded } from '../step.js';
import { switchOf } from '../steps/cutover-context.js';
import type { RollbackStep } from './rollback-context.js';

/** The env file back to its value before the cutover, from the cutover's 0600 backup (with --force and no backup: left). */
export const switchBack: RollbackStep = {
  name: 'switching',
  title: ({ config }) => `switch ${switchOf(config).variable} back`,
  describe: ({ config }) => `in ${switchOf(config).envFile} to its value before the cutover (from the 0600 backup)`,
  done: (r) => recorded(r, 'switching'),
  run: async (ctx) => {
    const sw = switchOf(ctx.config);
    const { cutover } = ctx;
    await recordStep(ctx, 'switching', async () => {
      const file = cutover.envFile ?? sw.envFile;
      const backup = cutover.backupFile && existsSync(cutover.backupFile) ? readBackup(cutover.backupFile) : undefined;
      if (!backup) {
        await updateRecord(ctx.s.control, ctx.id, { switchedAt: 'now' });
        return {
          value: undefined,
          detail: `no backup of ${sw.variable}: ${file} left as it is (--force); set it by hand`,
        };
      }
      const text = readEnvFile(file);
      if (readEnvValue(text, backup.variable) !== backup.value)
        writeFileAtomic(file, setEnvValue(text, backup.variable, backup.value));
      await updateRecord(ctx.s.control, ctx.id, { switchedAt: 'now' });
      return {
        value: undefined,
        detail: `${backup.variable} in ${file} is back to ${backup.value ? redactUrl(backup.value) : '(unset)'}`,
      };
    });
  },
};
