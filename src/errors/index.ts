export { ERROR_CODES, exitCodeFor, type ErrorCode } from './codes.js';
export { PgshiftError, isPgshiftError, type ErrorDetail } from './pgshift-error.js';
export { asPgshiftError } from './as-pgshift-error.js';
