import type pg from 'pg';
import { isTransient } from '../../db/retry.js';
import { PgshiftError } from '../../errors/index.js';
import { describeServerError } from '../../db/server-error.js';
import { scrub } from '../../log/redact.js';
import { type Action, assertNever } from '../../plan/model.js';
import type { RunContext } from './context.js';
import { copyTableHandler } from './copy-table.js';
import { createObject } from './create-object.js';
import { createStreamHandler, setReplicaIdentityHandler } from './create-stream.js';
import { dropStreamHandler } from './drop-stream.js';
import { readBackHandler } from './read-back.js';
import { dropObject } from './drop-object.js';
import { dropLargeObjects } from './drop-large-objects.js';
import { largeObjectsHandler } from './large-objects.js';
import { setSequenceValue } from './set-sequence-value.js';
import { verifyHandler } from './verify.js';

export type { RunContext } from './context.js';

async function dispatch(action: Action, client: pg.Client, ctx: RunContext): Promise<void> {
  switch (action.kind) {
    case 'create_object':
      return createObject(action, client, ctx);
    case 'set_sequence_value':
      return setSequenceValue(action, client, ctx);
    case 'copy_table':
      return copyTableHandler(action, client, ctx);
    case 'read_back':
      return readBackHandler(action, client, ctx);
    case 'verify':
      return verifyHandler(action, client, ctx);
    case 'drop_object':
      return dropObject(action, client, ctx);
    case 'set_replica_identity':
      return setReplicaIdentityHandler(action, client, ctx);
    case 'create_stream':
      return createStreamHandler(action, client, ctx);
    case 'drop_stream':
      return dropStreamHandler(action, client, ctx);
    case 'large_objects':
      return largeObjectsHandler(action, client, ctx);
    case 'drop_large_objects':
      return dropLargeObjects(action, client, ctx);
    default:
      return assertNever(action);
  }
}

/**
 * Runs one action. Server errors become ACTION_FAILED naming the object; only the server's message and SQLSTATE
 * are kept (never its DETAIL, which can quote row values). Transient errors pass through for the executor to retry.
 */
export async function runAction(action: Action, client: pg.Client, ctx: RunContext): Promise<void> {
  try {
    await dispatch(action, client, ctx);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && !isTransient(err)) {
      throw new PgshiftError('ACTION_FAILED', `${action.address}: ${scrub(describeServerError(err))}`, {
        hint: 'Fix the cause on the target (or the source definition), then run `pgshift apply` again: finished work is kept.',
        cause: err,
      });
    }
    throw err;
  }
}
