export { stateDb, type StateTables } from './db.js';
export { acquireLock, forceUnlock, readLockHolder, type LockHandle, type LockHolder, type LockInfo } from './lock.js';
export { LATEST_STATE_VERSION, migrateState, STATE_SCHEMA } from './migrations.js';
export { currentOperator, finishRun, newRunId, startRun, type Operator } from './runs.js';
export { EMPTY_STATE_SERIAL, readState, type CheckpointRow, type RunRow, type StateSnapshot } from './snapshot.js';
