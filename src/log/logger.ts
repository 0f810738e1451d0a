import { Writable } from 'node:stream';
import { pino, type Logger, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';
import { scrub } from './redact.js';

export type LogFormat = 'pretty' | 'json';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Default: pretty when stderr is a TTY, JSON otherwise. */
  readonly format?: LogFormat;
  /** Default: stderr. Tests pass their own stream. */
  readonly destination?: NodeJS.WritableStream;
}

/** Every line is scrubbed of secrets before it is written, whatever field it came from. */
function scrubbing(inner: NodeJS.WritableStream): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, callback): void {
      inner.write(scrub(chunk.toString()));
      callback();
    },
  });
}

/** Keys whose values are never logged, wherever they appear in a log object. */
const REDACT_PATHS = [
  'password',
  '*.password',
  'url',
  '*.url',
  'connectionString',
  '*.connectionString',
  'headers.authorization',
];

export function createLogger(options: LoggerOptions = {}): Logger {
  const out = options.destination ?? process.stderr;
  const format: LogFormat =
    options.format ?? ((out as NodeJS.WriteStream).isTTY === true && process.env.CI !== 'true' ? 'pretty' : 'json');
  const stream: DestinationStream =
    format === 'pretty'
      ? pretty({
          destination: scrubbing(out),
          colorize: (out as NodeJS.WriteStream).isTTY === true,
          sync: true,
          ignore: 'pid,hostname',
        })
      : { write: (chunk: string): void => void out.write(scrub(chunk)) };
  const created = pino(
    {
      name: 'pgshift',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '***' },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
  formats.set(created, format);
  return created;
}

const formats = new WeakMap<Logger, LogFormat>();

let current: Logger | undefined;

/** The process-wide logger, configured once by the CLI from --log-level/--log-format. */
export function logger(): Logger {
  current ??= createLogger({ level: 'silent' });
  return current;
}

export function setLogger(l: Logger): void {
  current = l;
}

/**
 * The level of a run's details that a terminal's progress view already shows (apply started, its id and plan hash):
 * info in a JSON log, debug in the pretty log of a terminal (where `--log-level debug` still shows them).
 */
export function detailLevel(): 'info' | 'debug' {
  return formats.get(logger()) === 'pretty' ? 'debug' : 'info';
}
