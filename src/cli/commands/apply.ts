import { Args, Flags } from '@oclif/core';
import { apply } from '../../apply/apply.js';
import { loadConfig } from '../../config/index.js';
import { PgshiftError } from '../../errors/index.js';
import { BaseCommand } from '../base-command.js';
import { askYes, interactive } from '../confirm.js';
import { onStopSignals } from '../interrupt.js';
import { autoApproveFlag, configFlag, jsonFlag } from '../flags.js';
import { runCutover } from '../../cutover/cutover.js';
import { runFollow } from '../../cutover/stream-run.js';
import { writeErr, writeJson, writeOut } from '../output.js';
import { renderCutoverPlan, renderCutoverResult } from '../render/cutover.js';
import { estimatePlan, estimateText, renderPlanText } from '../render/plan.js';
import { liveSummary, renderVerifyFindings } from '../render/verify.js';
import { listrProgress, logProgress, stepProgress, type ProgressView } from '../render/progress.js';
import { formatSeconds } from '../render/time.js';
import { describeExposure } from '../../security/exposure.js';

export default class Apply extends BaseCommand {
  static override description =
    'Apply a fresh plan (after confirmation) or exactly a saved plan. Safe to stop at any time and run again.';
  static override flags = {
    config: configFlag,
    'auto-approve': autoApproveFlag,
    parallel: Flags.integer({ description: 'Actions run at once (default: copy.parallel).', min: 1, max: 64 }),
    follow: Flags.boolean({
      description:
        'After the copy, keep the change stream (cutover.strategy stream) applying source changes until Ctrl-C or until `pgshift cutover` takes over.',
      default: false,
    }),
    json: jsonFlag,
  };
  static override args = {
    planfile: Args.string({ description: 'A plan saved with `pgshift plan --out`.', required: false }),
  };

  async run(): Promise<void> {
    const { flags, args } = await this.parse(Apply);
    const config = loadConfig(flags.config);
    const controller = new AbortController();
    // SIGINT, SIGTERM or SIGHUP; a second Ctrl-C leaves now (every committed unit is kept)
    const offSignals = onStopSignals((sig) => {
      process.stderr.write(
        `\nReceived ${sig}: finishing the running actions, starting no new ones (again to leave at once).\n`,
      );
      controller.abort();
    });
    let view: ProgressView | undefined;
    // the run's own time (from its first action to its last), compared with the plan's estimate when it ends
    const ran: { from?: number; to?: number } = {};
    try {
      const result = await apply({
        config,
        ...(args.planfile ? { planFile: args.planfile } : {}),
        ...(flags.parallel ? { parallel: flags.parallel } : {}),
        signal: controller.signal,
        confirm: async (plan) => {
          if (flags['auto-approve']) return true;
          if (!flags.json) writeOut(renderPlanText(plan));
          return askYes('Do you want pgshift to perform these actions on the target?', 'apply');
        },
        onEvent: (e) => {
          if (e.type === 'start') {
            ran.from = Date.now();
            view = !flags.json && interactive() ? listrProgress(e.actions) : logProgress(e.actions);
          }
          if (e.type === 'finish') ran.to = Date.now();
          view?.onEvent(e);
        },
      });
      await view?.done();
      const auto = config.cutover.mode === 'auto';
      if (flags.json && !auto) writeJson(result);
      else if (flags.json) {
        // cutover.mode auto: one JSON document with the cutover in it, below
      } else if (result.status === 'no-changes') writeOut('No changes. The target matches the desired state.');
      else if (result.status === 'cancelled') writeOut('Apply cancelled.');
      else {
        const ex = result.execution;
        const estimate = estimatePlan(result.plan);
        const took =
          ran.from !== undefined
            ? ` Took ${formatSeconds(((ran.to ?? Date.now()) - ran.from) / 1000)}${estimate ? ` (the plan estimated ${estimateText(estimate.totalSeconds)})` : ''}.`
            : '';
        writeOut(
          `Apply ${result.status === 'succeeded' ? 'complete' : result.status}! ${ex?.done.length ?? 0} done, ${ex?.failed.length ?? 0} failed, ${ex?.skipped.length ?? 0} skipped, ${ex?.notStarted.length ?? 0} not started. Run ${result.runId}.${took}`,
        );
      }
      const live = result.verification && liveSummary(result.verification);
      if (live && !flags.json) writeOut(live);
      const findings = renderVerifyFindings(result.verification?.findings);
      if (findings.length > 0 && !flags.json) writeOut(findings.join('\n'));
      if (result.security && !flags.json) writeOut(describeExposure(result.security));
      if (result.security && !result.security.ok && config.security.rls === 'enable') {
        throw new PgshiftError(
          'DATA_EXPOSED',
          `${result.security.findings.length} migrated table(s) in exposed schemas can be read by the Data API roles: ${result.security.findings.map((f) => `[${f.lint}] ${f.table} (${f.role})`).join('; ')}`,
          {
            hint: 'Enable RLS on them and review their policies (or revoke anon and authenticated) before the application or anyone with the anon key reaches the target.',
          },
        );
      }
      if (result.status === 'interrupted') {
        throw new PgshiftError('INTERRUPTED', 'apply was stopped; every finished action is recorded on the target', {
          hint: 'Run `pgshift apply` again to continue where it stopped.',
        });
      }
      if (result.status === 'failed') {
        const f = result.execution?.failed ?? [];
        if (f.length > 0 && f.every((x) => x.code === 'VERIFY_DIFFERENCES')) {
          throw new PgshiftError('VERIFY_DIFFERENCES', `${f[0]?.message}`, {
            hint: 'Run `pgshift verify` to see which rows differ and why: a row that differs and was not written on the source since its copy was copied wrong or changed on the target; find the cause, then copy the table again (`pgshift destroy`, then `pgshift apply`).',
          });
        }
        throw new PgshiftError('ACTION_FAILED', `${f.length} action(s) failed: ${f.map((x) => x.message).join('; ')}`, {
          hint: 'Fix the cause, then run `pgshift apply` again: finished work is kept and skipped.',
        });
      }
      if (flags.follow && result.status !== 'cancelled' && !auto) {
        let last = 0;
        if (!flags.json) writeErr('Streaming changes from the source (Ctrl-C stops; `pgshift cutover` takes over)...');
        const f = await runFollow(config, {
          signal: controller.signal,
          onProgress: (p) => {
            if (flags.json || Date.now() - last < 10_000) return;
            last = Date.now();
            writeErr(`  stream: ${p.changes} changes in ${p.transactions} transactions applied, at ${p.appliedLsn}`);
          },
        });
        if (flags.json) writeJson({ stream: f });
        if (f.handedOverTo) {
          if (!flags.json) writeOut(`Stream handed over to ${f.handedOverTo} at ${f.appliedLsn ?? 'its start'}.`);
          return;
        }
        throw new PgshiftError('INTERRUPTED', `the stream stopped at ${f.appliedLsn ?? 'its start'}; nothing is lost`, {
          hint: 'Run `pgshift apply --follow` to stream again from there, or `pgshift cutover`.',
        });
      }
      if (auto && result.status !== 'cancelled') {
        // cutover.mode: auto — the verified apply goes on to cut over (its own plan of > steps, its own approval)
        const steps = stepProgress(!flags.json && interactive(), writeErr);
        const cut = await runCutover(config, {
          signal: controller.signal,
          confirm: async (plan) => {
            if (!flags.json) writeOut(`\n${renderCutoverPlan(plan)}`);
            if (flags['auto-approve']) return true;
            return askYes(
              'cutover.mode is auto: do you want pgshift to cut the application over to the target now?',
              'cutover',
            );
          },
          onStep: (step, state, detail) => {
            if (!flags.json) steps.onStep(step, state, detail);
          },
        }).finally(() => steps.stop());
        if (flags.json) writeJson({ ...result, cutover: cut });
        else writeOut(renderCutoverResult(cut, config.cutover.rollbackWindowMs));
      }
    } finally {
      offSignals();
    }
  }
}
