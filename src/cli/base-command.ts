import { Command, Flags, type Interfaces } from '@oclif/core';
import { createLogger, setLogger, type LogFormat, type LogLevel } from '../log/logger.js';
import { asPgshiftError, renderError, writeErr, writeJson, wroteJson } from './output.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>;

/**
 * Every pgshift command: global --log-level/--log-format, the logger, and one error path that prints
 * `Error [CODE]: message` plus a `Hint:` line and sets the exit status from the code table. No stack traces
 * unless --log-level debug (or trace).
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    'log-level': Flags.option({
      description: 'How much to log on stderr.',
      options: ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const,
      default: 'info',
      helpGroup: 'GLOBAL',
    })(),
    'log-format': Flags.option({
      description: 'pretty (default on a terminal) or json (default otherwise).',
      options: ['pretty', 'json'] as const,
      helpGroup: 'GLOBAL',
    })(),
  };

  protected logLevel: LogLevel = 'info';
  private wantsJson = false;

  override async init(): Promise<void> {
    await super.init();
    // read the global flags without failing on the command's own (the command parses those itself)
    const argv = this.argv;
    const pick = (name: string): string | undefined => {
      const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
      if (i < 0) return undefined;
      const a = argv[i] as string;
      return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
    };
    const level = pick('log-level');
    if (level && ['trace', 'debug', 'info', 'warn', 'error', 'silent'].includes(level))
      this.logLevel = level as LogLevel;
    const format = pick('log-format');
    this.wantsJson = argv.includes('--json') || pick('format') === 'json';
    setLogger(
      createLogger({
        level: this.logLevel,
        ...(format === 'pretty' || format === 'json' ? { format: format as LogFormat } : {}),
      }),
    );
  }

  override async catch(err: Error & { exitCode?: number }): Promise<void> {
    const e = asPgshiftError(err);
    const debug = this.logLevel === 'debug' || this.logLevel === 'trace';
    if (this.wantsJson && !wroteJson()) writeJson({ error: e.toJSON() });
    writeErr(renderError(e, debug));
    process.exitCode = e.exitCode;
  }
}
