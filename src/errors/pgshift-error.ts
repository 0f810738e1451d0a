import { exitCodeFor, type ErrorCode } from './codes.js';

export interface ErrorDetail {
  /** Where the problem is, e.g. `migration.yaml:12:5` or `target`. */
  readonly location?: string;
  readonly message: string;
}

/**
 * The error every layer throws for a condition a user can act on.
 * message: what happened to which object. hint: the next step (usually a command to run).
 * Neither may contain a secret: build them from redacted values only (src/log/redact.ts).
 */
export class PgshiftError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: readonly ErrorDetail[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; details?: readonly ErrorDetail[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PgshiftError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }

  get exitCode(): number {
    return exitCodeFor(this.code);
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string; details?: readonly ErrorDetail[] } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details.length === 0 ? {} : { details: this.details }),
    };
  }
}

export function isPgshiftError(err: unknown): err is PgshiftError {
  return err instanceof PgshiftError;
}
