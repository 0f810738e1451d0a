import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { sql } from 'kysely';
import type pg from 'pg';
import { maskServerValues } from '../db/server-error.js';
import { scrub } from '../log/redact.js';
import { stateDb } from './db.js';

export interface Operator {
  readonly operator: string;
  readonly host: string;
}

/** Who runs pgshift: the OS user, plus the CI identity when there is one. */
export function currentOperator(env: NodeJS.ProcessEnv = process.env): Operator {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    user = env.USER ?? 'unknown';
  }
  const ci = env.GITHUB_ACTOR
    ? ` (github:${env.GITHUB_ACTOR})`
    : env.GITLAB_USER_LOGIN
      ? ` (gitlab:${env.GITLAB_USER_LOGIN})`
      : '';
  return { operator: `${user}${ci}`, host: hostname() };
}

export function newRunId(): string {
  return randomUUID();
}

export async function startRun(
  client: pg.ClientBase,
  run: { id: string; command: string; migration: string; planHash: string | null } & Operator,
): Promise<void> {
  await stateDb(client)
    .insertInto('pgshift.runs')
    .values({
      id: run.id,
      command: run.command,
      migration: run.migration,
      plan_hash: run.planHash,
      operator: run.operator,
      host: run.host,
      status: 'running',
    })
    .execute();
}

export async function finishRun(
  client: pg.ClientBase,
  id: string,
  status: 'succeeded' | 'failed' | 'interrupted',
  summary: unknown,
  error?: string,
): Promise<void> {
  await stateDb(client)
    .updateTable('pgshift.runs')
    .set({
      status,
      finished_at: sql<Date>`clock_timestamp()`,
      summary: JSON.stringify(summary) ?? null,
      // the run's error as the state keeps it: no secret, no value quoted by a server message
      error: error === undefined ? null : maskServerValues(scrub(error)),
    })
    .where('id', '=', id)
    .execute();
}

/** Marks every run still `running` as interrupted: called by the lock holder, so those runs died without a word. */
export async function markInterruptedRuns(client: pg.ClientBase): Promise<void> {
  await stateDb(client)
    .updateTable('pgshift.runs')
    .set({
      status: 'interrupted',
      finished_at: sql<Date>`clock_timestamp()`,
      error: 'the run ended without finishing (killed?)',
    })
    .where('status', '=', 'running')
    .execute();
}
