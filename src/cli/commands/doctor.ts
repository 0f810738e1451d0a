import { loadConfig } from '../../config/index.js';
import { runDoctor } from '../../doctor/doctor.js';
import { PgshiftError } from '../../errors/index.js';
import { BaseCommand } from '../base-command.js';
import { configFlag, jsonFlag } from '../flags.js';
import { renderDoctor } from '../render/doctor.js';
import { writeJson, writeOut } from '../output.js';

export default class Doctor extends BaseCommand {
  static override description =
    'Preflight: connect to both sides and report versions, TLS, roles and privileges, extensions, connection headroom and connect time.';
  static override flags = { config: configFlag, json: jsonFlag };

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const config = loadConfig(flags.config);
    const report = await runDoctor(config);
    if (flags.json) writeJson(report);
    else writeOut(renderDoctor(report));
    if (!report.ok) {
      const blocks = report.checks.filter((c) => c.status === 'block');
      throw new PgshiftError(
        'DOCTOR_BLOCKED',
        `${blocks.length} check(s) block the migration: ${blocks.map((b) => `${b.side} ${b.id}`).join(', ')}`,
        {
          hint: blocks[0]?.hint ?? 'Fix the checks marked BLOCK above, then run `pgshift doctor` again.',
        },
      );
    }
  }
}
