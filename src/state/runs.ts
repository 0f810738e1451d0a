import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type pg from 'pg';
import { maskServerValues } from '../db/server-error.js';
import { scrub } from '../log/redact.js';

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
  const ci = env.GITHUB_ACTOR ? ` (github:${env.GITHUB_ACTOR})` : env.GITLAB_USER_LOGIN ? ` (gitlab:${env.GITLAB_USER_LOGIN})` : '';
  return { operator: `${user}${ci}`, host: hostname() };
}

export function newRunId(): string {
  return randomUUID();
}

export async function startRun(
  client: pg.ClientBase,
  run: { id: string; command: string; migration: string; planHash: string | null } & Operator,
): Promise<void> {
  await client.query(
    `INSERT INTO pgshift.runs (id, command, migration, plan_hash, operator, host, status) VALUES ($1, $2, $3, $4, $5, $6, 'running')`,
    [run.id, run.command, run.migration, run.planHash, run.operator, run.host],
  );
}

export async function finishRun(
  client: pg.ClientBase,
  id: string,
  status: 'succeeded' | 'failed' | 'interrupted',
  summary: unknown,
  error?: string,
): Promise<void> {
  await client.query(`UPDATE pgshift.runs SET status = $2, finished_at = clock_timestamp(), summary = $3, error = $4 WHERE id = $1`, [
    id,
    status,
    JSON.stringify(summary),
    // the run's error as the state keeps it: no secret, no value quoted by a server message
    error === undefined ? null : maskServerValues(scrub(error)),
  ]);
}
