/**
 * The one table of error codes. Every PgshiftError carries one of these codes; the code decides the exit status
 * (see ../shared/design/cli-contract.md: 0 success, 1 error, 2 plan has changes, 3 verification differences).
 */
export const ERROR_CODES = {
  // configuration
  CONFIG_NOT_FOUND: 1,
  CONFIG_INVALID: 1,
  CONFIG_ENV_MISSING: 1,
  CONFIG_YAML_SYNTAX: 1,
  CONFIG_TOO_LARGE: 1,
  CONFIG_INVALID_URL: 1,
  // connections
  CONNECT_FAILED: 1,
  CONNECT_AUTH_FAILED: 1,
  CONNECT_DATABASE_MISSING: 1,
  CONNECT_TLS_FAILED: 1,
  CONNECT_TLS_REQUIRED: 1,
  CONNECT_POOLER_TRANSACTION_MODE: 1,
  TLS_CA_FILE_UNREADABLE: 1,
  // commands
  NOT_AVAILABLE_YET: 1,
  USAGE: 1,
  DOCTOR_BLOCKED: 1,
  APPROVAL_REQUIRED: 1,
  PLAN_STALE: 1,
  PLAN_BLOCKED: 1,
  PLAN_INVALID: 1,
  LOCK_HELD: 1,
  LOCK_NOT_FOUND: 1,
  // workers
  NO_APPLY_RUNNING: 1,
  LEASE_LOST: 1,
  WORKER_UNITS_FAILED: 1,
  STATE_MISSING: 1,
  STATE_NEWER: 1,
  ACTION_FAILED: 1,
  LARGE_OBJECT_EXISTS: 1,
  INTERRUPTED: 130,
  VERIFY_DIFFERENCES: 3,
  CUTOVER_NOT_READY: 1,
  CUTOVER_ABORTED: 1,
  CUTOVER_CUT_OVER: 1,
  FREEZE_IN_FORCE: 1,
  ROLLBACK_REFUSED: 1,
  ENV_FILE_INVALID: 1,
  SWITCH_COMMAND_FAILED: 1,
  AUDIT_CHAIN_BROKEN: 1,
  DATA_EXPOSED: 1,
  // the change stream
  STREAM_SCHEMA_CHANGED: 1,
  STREAM_APPLY_FAILED: 1,
  STREAM_REFUSED: 1,
  STREAM_PROTOCOL: 1,
  STREAM_STATE_MISSING: 1,
  STREAM_CONNECTION_LOST: 1,
  STREAM_NOT_AVAILABLE: 1,
  STREAM_SLOT_BLOCKED: 1,
  STREAM_SLOT_ACTIVE: 1,
  INTERNAL: 1,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function exitCodeFor(code: ErrorCode): number {
  return ERROR_CODES[code];
}
