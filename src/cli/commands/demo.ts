import { resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { runDemo } from '../../demo/demo.js';
import { PgshiftError } from '../../errors/index.js';
import { BaseCommand } from '../base-command.js';
import { interactive } from '../confirm.js';
import { writeOut } from '../output.js';
import { renderPlanText } from '../render/plan.js';
import { listrProgress, logProgress, type ProgressView } from '../render/progress.js';
import { renderCutoverResult } from '../render/cutover.js';
import { renderStatus } from '../render/status.js';
import { renderVerifyText } from '../render/verify.js';

export default class Demo extends BaseCommand {
  static override description =
    'The whole flow on two embedded PostgreSQL servers (15 -> a Supabase-like 17), plan to cutover, nothing to install or configure.';
  static override flags = {
    keep: Flags.boolean({ description: 'Leave the servers running and say how to connect.', default: false }),
    dir: Flags.string({ description: 'Where to write the demo migration.yaml.', default: '.pgshift-demo' }),
    patients: Flags.integer({ description: 'Size of the demo clinic.', default: 5000, min: 10, max: 1_000_000 }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Demo);
    let view: ProgressView | undefined;
    let n = 0;
    const result = await runDemo(
      { dir: resolve(flags.dir), keep: flags.keep, patients: flags.patients },
      {
        step: (title) => writeOut(`\n[${++n}] ${title}`),
        plan: (plan) => writeOut(renderPlanText(plan)),
        onEvent: (e) => {
          if (e.type === 'start') view = interactive() ? listrProgress(e.actions) : logProgress(e.actions);
          view?.onEvent(e);
        },
        applied: async (r) => {
          await view?.done();
          const x = r.execution;
          writeOut(
            `Apply ${r.status === 'succeeded' ? 'complete' : r.status}! ${x?.done.length ?? 0} done, ${x?.failed.length ?? 0} failed.`,
          );
        },
        verified: (report) => writeOut(renderVerifyText(report)),
        status: (state) => {
          const checkpoints = state.checkpoints.map(({ lastKey: _k, ...c }) => c);
          writeOut(
            renderStatus({
              ...state,
              checkpoints,
              migration: 'clinic-demo',
              target: 'the Supabase-like PostgreSQL 17',
              objectCount: Object.keys(state.objects).length,
            }),
          );
        },
        exposure: (lines) =>
          writeOut(
            `${lines.join('\n')}\nRLS was enabled on every table in public BEFORE its first row was copied: anon reads nothing.`,
          ),
        cutoverStep: (step, detail) => writeOut(`  > ${step}: ${detail}`),
        cutover: (r, before, after) => {
          writeOut(renderCutoverResult(r, 24 * 3600_000));
          writeOut(`\nThe application's env file before:\n${before.trimEnd()}\nand after:\n${after.trimEnd()}`);
        },
      },
    );
    writeOut(`\nWhat happened: pgshift read both catalogs, planned every object for a Supabase-like target (as the
non-superuser postgres, RLS on before any row landed in public), copied the rows in checkpointed batches, built
indexes and constraints after the data, verified every row by checksums, then cut over: a write freeze of well under a
second on the source, a final sync of what changed, sequences, a last verification and the switch of the app's
env file. Everything is recorded in schema "pgshift" on the target. The config is ${result.configFile}.`);
    if (result.envFile) {
      writeOut(
        `\nThe servers are still running. Connect with:\n  source ${result.envFile}\n  npx pgshift status -c ${result.configFile}\nStop them with:\n${result.stop.map((s) => `  ${s}`).join('\n')}`,
      );
    } else {
      writeOut('\nThe servers are stopped and removed. `pgshift demo --keep` leaves them running.');
    }
    if (!result.ok)
      throw new PgshiftError('ACTION_FAILED', 'the demo did not end with a verified migration', {
        hint: 'Run it again with --log-level debug and report what it printed.',
      });
  }
}
