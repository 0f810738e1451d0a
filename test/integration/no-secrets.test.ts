/**
 * Secrets never leave memory (issue 7): a distinctive password in both URLs (and in the application URL the
 * cutover writes into the app's env file) is nowhere in what pgshift produces: stdout and stderr of init, validate,
 * doctor, plan (text, markdown, JSON, saved file), apply, verify, status (with the audit trail), cutover, rollback
 * and destroy, in text and JSON, an error on a bad URL, the saved plan, the verification reports, and any row of
 * the pgshift schema. Patient values (a distinctive name in the data) never reach them either.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../e2e/cli.js';
import { configDir } from '../support/config.js';
import { freshDatabases, quoteIdent, withPg, type FreshDatabases } from '../support/databases.js';

const PASSWORD = `Pw-${randomBytes(6).toString('hex')}-distinctive`;
const PATIENT = `Zelda Patientname ${randomBytes(3).toString('hex')}`;
const ROLE = `pgshift_secret_${randomBytes(3).toString('hex')}`;
const cfg = configDir('no-secrets');
const appEnv = join(cfg.dir, 'app.env');
let dbs: FreshDatabases;
let env: NodeJS.ProcessEnv;
let file: string;
const outputs: Array<{ what: string; text: string }> = [];

function withRole(url: string): string {
  const u = new URL(url);
  u.username = ROLE;
  u.password = PASSWORD;
  return u.toString();
}

function run(what: string, args: string[], expectStatus: number | number[] = 0, extraEnv: NodeJS.ProcessEnv = {}): CliResult {
  const r = runCli(args, { ...env, ...extraEnv }, cfg.dir);
  outputs.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
  const ok = Array.isArray(expectStatus) ? expectStatus : [expectStatus];
  expect(ok, `${what}: exit ${r.status}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`).toContain(r.status);
  return r;
}

async function stateRows(): Promise<string> {
  return withPg(dbs.targetUrl, async (c) => {
    const tables = await c.query<{ name: string }>(`SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgshift' AND c.relkind = 'r' ORDER BY 1`);
    const out: string[] = [];
    for (const t of tables.rows) out.push(JSON.stringify((await c.query(`SELECT * FROM pgshift.${quoteIdent(t.name)}`)).rows));
    return out.join('\n');
  });
}

beforeAll(async () => {
  dbs = await freshDatabases('no_secrets');
  for (const url of [dbs.sourceUrl, dbs.targetUrl]) {
    await withPg(url, (c) => c.query(`CREATE ROLE ${quoteIdent(ROLE)} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`));
  }
  await withPg(dbs.sourceUrl, (c) =>
    c.query(`CREATE TABLE patients (id int PRIMARY KEY, name text NOT NULL, ssn text);
             INSERT INTO patients SELECT g, CASE WHEN g = 42 THEN '${PATIENT}' ELSE 'p' || g END, 'ssn-' || g FROM generate_series(1, 300) g;
             CREATE TABLE notes (patient_id int, body text);
             INSERT INTO notes VALUES (42, '${PATIENT} said something private');`),
  );
  env = { SOURCE_DATABASE_URL: withRole(dbs.sourceUrl), TARGET_DATABASE_URL: withRole(dbs.targetUrl), APP_DATABASE_URL: withRole(dbs.targetUrl) };
  writeFileSync(appEnv, `DATABASE_URL=${env.SOURCE_DATABASE_URL}\n`);
}, 60_000);

afterAll(async () => {
  await dbs?.drop();
  for (const url of [dbs.sourceUrl, dbs.targetUrl]) await withPg(url, (c) => c.query(`DROP ROLE IF EXISTS ${quoteIdent(ROLE)}`)).catch(() => undefined);
  cfg.remove();
});

describe('no secret and no patient value in any artifact', () => {
  it('runs every command, text and JSON, and finds the password nowhere', async () => {
    run('init', ['init', '--out', 'migration.yaml']);
    file = join(cfg.dir, 'migration.yaml');
    expect(readFileSync(file, 'utf8')).toContain('${SOURCE_DATABASE_URL}'); // the starter keeps URLs in the environment
    outputs.push({ what: 'the starter migration.yaml', text: readFileSync(file, 'utf8') });
    // the test's own config: the cutover switch and a full verification
    writeFileSync(
      file,
      `version: 1
name: secrets
source:
  url: \${SOURCE_DATABASE_URL}
target:
  url: \${TARGET_DATABASE_URL}
verify: { checksums: full }
cutover:
  switch:
    env_file: ${appEnv}
    variable: DATABASE_URL
    value: \${APP_DATABASE_URL}
`,
    );
    run('validate', ['validate', '-c', file]);
    run('validate --json', ['validate', '-c', file, '--json']);
    run('doctor', ['doctor', '-c', file], [0, 1]);
    run('doctor --json', ['doctor', '-c', file, '--json'], [0, 1]);
    run('plan', ['plan', '-c', file]);
    run('plan markdown', ['plan', '-c', file, '--format', 'markdown']);
    run('plan json', ['plan', '-c', file, '--format', 'json']);
    run('plan --out', ['plan', '-c', file, '--out', 'plans/first.plan.json']);
    run('apply PLANFILE', ['apply', '-c', file, 'plans/first.plan.json', '--auto-approve']);
    await withPg(dbs.targetUrl, (c) => c.query(`UPDATE patients SET ssn = 'corrupted' WHERE id = 42`)); // a wrong copy: verify names it
    run('verify (differences)', ['verify', '-c', file], 3);
    run('verify --json (differences)', ['verify', '-c', file, '--json'], 3);
    run('verify --show-values', ['verify', '-c', file, '--show-values'], 3); // values are shown here on purpose, but no password
    run('status', ['status', '-c', file]);
    run('status --json --audit', ['status', '-c', file, '--json', '--audit']);
    await withPg(dbs.targetUrl, (c) => c.query(`UPDATE patients SET ssn = 'ssn-42' WHERE id = 42`)); // repaired
    run('verify --full', ['verify', '-c', file, '--full']);
    run('cutover', ['cutover', '-c', file, '--auto-approve']);
    run('status after cutover', ['status', '-c', file]);
    run('rollback --json', ['rollback', '-c', file, '--auto-approve', '--json']);
    run('cutover --json', ['cutover', '-c', file, '--auto-approve', '--json']);
    run('rollback', ['rollback', '-c', file, '--auto-approve']);
    const state = await stateRows();
    // an error on a URL with the password: the database does not exist
    const bad = { TARGET_DATABASE_URL: withRole(dbs.targetUrl).replace(/\/[^/?]+(\?|$)/, '/no_such_db$1') };
    run('plan, bad target', ['plan', '-c', file], 1, bad);
    run('plan --json, bad target', ['plan', '-c', file, '--format', 'json'], 1, bad);
    run('destroy', ['destroy', '-c', file, '--auto-approve']);

    const planFiles = readdirSync(join(cfg.dir, 'plans')).map((f) => ({ what: `plans/${f}`, text: readFileSync(join(cfg.dir, 'plans', f), 'utf8') }));
    const artifacts = [...outputs, ...planFiles, { what: 'pgshift schema rows', text: state }, { what: 'migration.yaml', text: readFileSync(file, 'utf8') }];
    expect(outputs.length).toBeGreaterThan(40);
    for (const a of artifacts) {
      expect(a.text.includes(PASSWORD), `the password is in ${a.what}`).toBe(false);
      expect(a.text.includes(encodeURIComponent(PASSWORD)), `the encoded password is in ${a.what}`).toBe(false);
    }
    // patient values: only --show-values prints them (on the operator's terminal), never anything stored
    for (const a of artifacts.filter((x) => !x.what.startsWith('verify --show-values'))) {
      expect(a.text.includes(PATIENT), `a patient value is in ${a.what}`).toBe(false);
      expect(a.text.includes('ssn-42'), `a patient value is in ${a.what}`).toBe(false);
    }
    // the redacted form is what they show
    expect(outputs.some((o) => o.text.includes(`${ROLE}:***@`) || o.text.includes(`${ROLE}@`))).toBe(true);
    // and the app's env file holds the URL, as it must (it is the application's own secret store)
    expect(readFileSync(appEnv, 'utf8')).toContain(PASSWORD);
  }, 300_000);
});
