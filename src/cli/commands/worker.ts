import { Flags } from '@oclif/core';
import { runWorker } from '../../apply/worker.js';
import { loadConfig } from '../../config/index.js';
import { PgshiftError } from '../../errors/index.js';
import { BaseCommand } from '../base-command.js';
import { configFlag, jsonFlag } from '../flags.js';
import { onStopSignals } from '../interrupt.js';
import { writeJson, writeOut } from '../output.js';

export default class Worker extends BaseCommand {
  static override description =
    'Join the running apply of this migration (from any machine that reaches both databases) and copy units of its queue until none is left.';
  static override flags = {
    config: configFlag,
    parallel: Flags.integer({ description: 'Units this worker copies at once (default 1).', min: 1, max: 64 }),
    json: jsonFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Worker);
    const config = loadConfig(flags.config);
    const controller = new AbortController();
    // a stop finishes the batch in flight, gives the unit back to the queue and leaves
    const offSignals = onStopSignals((sig) => {
      process.stderr.write(
        `\nReceived ${sig}: finishing the batch in flight, giving the unit back (again to leave at once).\n`,
      );
      controller.abort();
    });
    try {
      const result = await runWorker({
        config,
        ...(flags.parallel ? { parallel: flags.parallel } : {}),
        signal: controller.signal,
      });
      const done = result.units.filter((u) => u.outcome === 'done');
      const failed = result.units.filter((u) => u.outcome === 'failed');
      if (flags.json) writeJson(result);
      else
        writeOut(
          `Worker ${result.stopped ? 'stopped' : 'done'}: ${done.length} unit(s) copied (${done.reduce((n, u) => n + u.rows, 0)} rows), ${failed.length} failed, for apply run ${result.joined}.`,
        );
      if (failed.length > 0) {
        throw new PgshiftError(
          'WORKER_UNITS_FAILED',
          `${failed.length} unit(s) failed on this worker: ${failed.map((u) => u.error ?? u.unit).join('; ')}`,
          { hint: 'Fix the cause; the apply reports the same failures, and `pgshift apply` again resumes them.' },
        );
      }
      if (result.stopped) {
        throw new PgshiftError('INTERRUPTED', 'the worker was stopped; its unit went back to the queue', {
          hint: 'Start `pgshift worker` again to help the apply, or let the apply finish alone.',
        });
      }
    } finally {
      offSignals();
    }
  }
}
