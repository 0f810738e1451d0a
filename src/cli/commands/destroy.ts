import { Flags } from '@oclif/core';
import { loadConfig } from '../../config/index.js';
import { destroy, type DestroyPlan } from '../../destroy/destroy.js';
import { streamDropLines } from '../../destroy/stream.js';
import { PgshiftError } from '../../errors/index.js';
import { BaseCommand } from '../base-command.js';
import { askYes } from '../confirm.js';
import { autoApproveFlag, configFlag, jsonFlag } from '../flags.js';
import { writeJson, writeOut } from '../output.js';

function renderDestroyPlan(p: DestroyPlan): string {
  const lines = [`pgshift will destroy what it created on ${p.target}:`, ''];
  if (p.stream) for (const l of streamDropLines(p.stream)) lines.push(`  ${l}`);
  if (p.largeObjects) lines.push(`  - large_objects: ${p.largeObjects.objects.toLocaleString('en-US')} objects`);
  for (const i of p.items) lines.push(`  - ${i.address}`);
  const count = p.items.length + (p.stream?.drops.length ?? 0) + (p.largeObjects ? 1 : 0);
  const changes = p.stream?.identities.length ?? 0;
  const remove = p.envBackups?.remove ?? [];
  for (const f of remove) lines.push(`  - file ${f} (env backup of an old value, no rollback can use it)`);
  if (p.stateSchema) lines.push('  - schema pgshift (its state, last)');
  for (const b of p.envBackups?.named ?? [])
    lines.push(
      `  left: file ${b.file} (${b.usable ? 'the env backup a rollback restores from' : "named like pgshift's env backups, not recorded in this state"}: delete it by hand once its value is of no use)`,
    );
  lines.push(
    '',
    `Plan: 0 to add, 0 to resume, ${changes} to change, ${count + remove.length + (p.stateSchema ? 1 : 0)} to destroy.`,
  );
  return lines.join('\n');
}

const backupsRemoved = (n: number): string => (n === 0 ? '' : `, ${n} env backup${n === 1 ? '' : 's'} removed`);

export default class Destroy extends BaseCommand {
  static override description =
    'Remove from the target exactly what pgshift created there (never what was there before), and its state last.';
  static override flags = {
    config: configFlag,
    'auto-approve': autoApproveFlag,
    force: Flags.boolean({
      description: 'Destroy even while the application is cut over to the target.',
      default: false,
    }),
    json: jsonFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Destroy);
    const config = loadConfig(flags.config);
    const result = await destroy(
      config,
      async (plan) => {
        if (!flags.json) writeOut(renderDestroyPlan(plan));
        if (flags['auto-approve']) return true;
        return askYes('Do you really want to destroy these objects and the data in them?', 'destroy');
      },
      { force: flags.force },
    );
    if (flags.json) writeJson(result);
    else if (result.status === 'nothing')
      writeOut('Nothing to destroy: pgshift has created nothing on this target (its state records no object).');
    else if (result.status === 'cancelled') writeOut('Destroy cancelled.');
    else
      writeOut(
        `Destroy ${result.status === 'destroyed' ? 'complete' : 'partial'}! ${result.dropped.length} dropped${result.kept.length ? `, ${result.kept.length} kept` : ''}${backupsRemoved(result.removedBackups?.length ?? 0)}.`,
      );
    if (result.status === 'partial') {
      throw new PgshiftError(
        'ACTION_FAILED',
        `${result.kept.length} object(s) were kept: ${result.kept.map((k) => `${k.address} (${k.reason})`).join('; ')}`,
        {
          hint: 'They hold or are used by objects pgshift did not create. Remove those by hand, then run `pgshift destroy` again.',
        },
      );
    }
  }
}
