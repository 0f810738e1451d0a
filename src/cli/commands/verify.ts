import { Flags } from '@oclif/core';
import { loadConfig } from '../../config/index.js';
import { PgshiftError } from '../../errors/index.js';
import { withClient } from '../../db/connect.js';
import { endpoints, sessionSettings } from '../../db/endpoints.js';
import { assertApplied } from '../../state/applied.js';
import { assertSessionPooling } from '../../db/pooler.js';
import { runVerification } from '../../verify/run.js';
import { checkExposureNow, describeExposure } from '../../security/exposure.js';
import { BaseCommand } from '../base-command.js';
import { configFlag, jsonFlag } from '../flags.js';
import { writeJson, writeOut } from '../output.js';
import { differing, renderVerifyMarkdown, renderVerifyText } from '../render/verify.js';

export default class Verify extends BaseCommand {
  static override description =
    'Run the verification policy now (counts, seeded samples, range checksums, schema parity) and print the report. Exit 3 when something differs.';
  static override flags = {
    config: configFlag,
    full: Flags.boolean({ description: 'Full range checksums, whatever the policy says.', default: false }),
    'show-values': Flags.boolean({
      description: 'Show key values of every key type in the report (never stored).',
      default: false,
    }),
    format: Flags.option({
      options: ['text', 'markdown', 'json'] as const,
      default: 'text',
      description: 'How to print the report.',
    })(),
    json: jsonFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Verify);
    const config = loadConfig(flags.config);
    // before any apply there is nothing to compare: say so, not the first table the target lacks (after the
    // check that refuses a transaction pooler: that is what is wrong with such a URL, whatever the state)
    const eps = endpoints(config);
    await assertSessionPooling([eps.source, eps.target], sessionSettings(config));
    await withClient(eps.target, sessionSettings(config), (c) => assertApplied(c, 'nothing to verify'));
    const report = await runVerification(config, { full: flags.full, showValues: flags['show-values'] });
    const security = await checkExposureNow(config);
    const format = flags.json ? 'json' : flags.format;
    if (format === 'json') writeJson(security ? { ...report, security } : report);
    else if (format === 'markdown')
      writeOut(renderVerifyMarkdown(report) + (security ? `\n\n${describeExposure(security)}` : ''));
    else writeOut(renderVerifyText(report) + (security ? `\n${describeExposure(security)}` : ''));
    if (!report.ok) {
      throw new PgshiftError('VERIFY_DIFFERENCES', `verification found differences in ${differing(report.summary)}`, {
        hint: 'Run `pgshift plan` and `pgshift apply` to repair what pgshift can, then `pgshift verify` again.',
      });
    }
    if (security && !security.ok && config.security.rls === 'enable') {
      throw new PgshiftError(
        'DATA_EXPOSED',
        `${security.findings.length} exposure(s) of migrated tables to the Data API roles: ${security.findings.map((f) => `[${f.lint}] ${f.table} (${f.role})`).join('; ')}`,
        {
          hint: 'Enable RLS on them and review their policies (or revoke anon and authenticated).',
        },
      );
    }
  }
}
