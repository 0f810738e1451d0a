import { asPgshiftError } from '../errors/index.js';

export interface ErrorSummary {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
}

export function asError(err: unknown): ErrorSummary {
  const e = asPgshiftError(err);
  return { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
}
