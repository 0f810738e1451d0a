/**
 * Secrets never leave memory (issue 7): a distinctive password in both URLs (and in the application URL the
 * cutover writes into the app's env file) is nowhere in what pgshift produces: stdout and stderr of init, validate,
 * doctor, plan (text, markdown, JSON, saved file), apply, verify, status (with the audit trail), cutover, rollback
 * and destroy, in text and JSON, an error on a bad URL, the saved plan, the verification reports, and any row of
 * the pgshift schema. Patient values (a distinctive name in the data) never reach them either.
 *
 * The same commands run for each kind of password (issue 11, item 8): a distinctive one in both URLs; one pasted
 * unencoded with a raw `@`, `:` and `%` in the source URL (it must connect, and no part of it may show) together
 * with a 3-character password on the target and in the application URL.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../e2e/cli.js';
import { configDir } from '../support/config.js';
import { freshDatabases, quoteIdent, quoteLiteral, withPg, type FreshDatabases } from '../support/databases.js';

interface Credentials {
  readonly name: string;
  /** Passwords of the role on the source and on the target server (the same role name on both). */
  readonly sourcePassword: string;
  readonly targetPassword: string;
  /** The source URL as the user gives it (raw, unencoded, when `raw`). */
  readonly raw: boolean;
}

const HEX = randomBytes(4).toString('hex');
const CASES: readonly Credentials[] = [
  {
    name: 'a distinctive password in both URLs',
    sourcePassword: `Pw-${HEX}-distinctive`,
    targetPassword: `Pw-${HEX}-distinctive`,
    raw: false,
  },
  // the tail after the raw % starts no valid escape: the password is exactly what the user typed
  {
    name: 'a pasted password with raw @ : % (source) and a 3-character one (target, application URL)',
    sourcePassword: `Pa@ss:w%rd-${HEX}`,
    targetPassword: 'Zq7',
    raw: true,
  },
];
const PATIENT = `Zelda Patientname ${randomBytes(3).toString('hex')}`;

/** The spellings of a password that must appear nowhere: as typed, percent-encoded both ways, and its pieces. */
function forbidden(password: string): string[] {
  const u = new URL('postgres://h');
  u.password = password;
  const pieces = password.length >= 8 ? password.split(/[@:%]/).filter((p) => p.length >= 4) : [];
  return [...new Set([password, encodeURIComponent(password), u.password, ...pieces])];
}

/** A short password counts as shown when it stands as a token (inside a longer word or hex id it is not the password). */
function shows(text: string, password: string): boolean {
  if (password.length >= 8) return forbidden(password).some((f) => text.includes(f));
  const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return forbidden(password).some((f) => new RegExp(`(?<![\\p{L}\\p{N}])${esc(f)}(?![\\p{L}\\p{N}])`, 'u').test(text));
}

describe.each(CASES)('no secret and no patient value in any artifact: $name', (c) => {
  const ROLE = `pgshift_secret_${randomBytes(3).toString('hex')}`;
  const cfg = configDir('no-secrets');
  const appEnv = join(cfg.dir, 'app.env');
  let dbs: FreshDatabases;
  let env: NodeJS.ProcessEnv;
  let file: string;
  const outputs: Array<{ what: string; text: string }> = [];

  function withRole(url: string, password: string): string {
    const u = new URL(url);
    u.username = ROLE;
    if (!c.raw || password.length < 8) {
      u.password = password;
      return u.toString();
    }
    // as a user pastes it: nothing encoded
    return `postgres://${ROLE}:${password}@${u.host}${u.pathname}${u.search}`;
  }

  function run(
    what: string,
    args: string[],
    expectStatus: number | number[] = 0,
    extraEnv: NodeJS.ProcessEnv = {},
  ): CliResult {
    const r = runCli(args, { ...env, ...extraEnv }, cfg.dir);
    outputs.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
    const ok = Array.isArray(expectStatus) ? expectStatus : [expectStatus];
    expect(ok, `${what}: exit ${r.status}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`).toContain(r.status);
    return r;
  }

  async function stateRows(): Promise<string> {
    return withPg(dbs.targetUrl, async (client) => {
      const tables = await client.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgshift' AND c.relkind = 'r' ORDER BY 1`,
      );
      const out: string[] = [];
      for (const t of tables.rows)
        out.push(JSON.stringify((await client.query(`SELECT * FROM pgshift.${quoteIdent(t.name)}`)).rows));
      return out.join('\n');
    });
  }

  beforeAll(async () => {
    dbs = await freshDatabases('no_secrets');
    for (const [url, password] of [
      [dbs.sourceUrl, c.sourcePassword],
      [dbs.targetUrl, c.targetPassword],
    ] as const) {
      await withPg(url, (client) =>
        client.query(`CREATE ROLE ${quoteIdent(ROLE)} LOGIN SUPERUSER PASSWORD ${quoteLiteral(password)}`),
      );
    }
    await withPg(dbs.sourceUrl, (client) =>
      client.query(`CREATE TABLE patients (id int PRIMARY KEY, name text NOT NULL, ssn text);
               INSERT INTO patients SELECT g, CASE WHEN g = 42 THEN '${PATIENT}' ELSE 'p' || g END, 'ssn-' || g FROM generate_series(1, 300) g;
               CREATE TABLE notes (patient_id int, body text);
               INSERT INTO notes VALUES (42, '${PATIENT} said something private');`),
    );
    env = {
      SOURCE_DATABASE_URL: withRole(dbs.sourceUrl, c.sourcePassword),
      TARGET_DATABASE_URL: withRole(dbs.targetUrl, c.targetPassword),
      APP_DATABASE_URL: withRole(dbs.targetUrl, c.targetPassword),
    };
    if (c.raw) expect(env.SOURCE_DATABASE_URL).toContain(`:${c.sourcePassword}@`); // really unencoded
    writeFileSync(appEnv, `DATABASE_URL=${env.SOURCE_DATABASE_URL}\n`);
  }, 60_000);

  afterAll(async () => {
    await dbs?.drop();
    for (const url of [dbs.sourceUrl, dbs.targetUrl])
      await withPg(url, (client) => client.query(`DROP ROLE IF EXISTS ${quoteIdent(ROLE)}`)).catch(() => undefined);
    cfg.remove();
  });

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
    command: sh ./reload.sh
`,
    );
    // a careless reload script: the first time in each direction it fails and prints what it was given, the env file
    // and the password alone (as \`env | grep PG\` would); pgshift shows that output in its error and keeps it in the state
    writeFileSync(
      join(cfg.dir, 'reload.sh'),
      `if [ ! -f "reloaded-$PGSHIFT_SWITCH_DIRECTION" ]; then
  touch "reloaded-$PGSHIFT_SWITCH_DIRECTION"
  cat ./app.env
  echo "PGPASSWORD=$(sed -n 's|^DATABASE_URL=postgres[a-z]*://[^:]*:\\(.*\\)@[^@]*$|\\1|p' ./app.env)"
  exit 1
fi
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
    const reloadFailed = run('cutover (the reload fails once)', ['cutover', '-c', file, '--auto-approve'], 1);
    expect(reloadFailed.stderr).toContain('SWITCH_COMMAND_FAILED');
    expect(reloadFailed.stderr).toContain('PGPASSWORD=***'); // the script's output is shown, masked
    run('cutover', ['cutover', '-c', file, '--auto-approve']); // resumes at the command
    run('status after cutover', ['status', '-c', file]);
    run('status --json --audit after cutover', ['status', '-c', file, '--json', '--audit']);
    const backFailed = run(
      'rollback --json (the reload fails once)',
      ['rollback', '-c', file, '--auto-approve', '--json'],
      1,
    );
    expect(backFailed.stderr).toContain('PGPASSWORD=***');
    run('rollback --json', ['rollback', '-c', file, '--auto-approve', '--json']);
    run('cutover --json', ['cutover', '-c', file, '--auto-approve', '--json']);
    run('rollback', ['rollback', '-c', file, '--auto-approve']);
    const state = await stateRows();
    // an error on a URL with the password: the database does not exist
    const bad = {
      TARGET_DATABASE_URL: withRole(dbs.targetUrl, c.targetPassword).replace(/\/[^/?]+(\?|$)/, '/no_such_db$1'),
    };
    run('plan, bad target', ['plan', '-c', file], 1, bad);
    run('plan --json, bad target', ['plan', '-c', file, '--format', 'json'], 1, bad);
    run('destroy', ['destroy', '-c', file, '--auto-approve']);

    const planFiles = readdirSync(join(cfg.dir, 'plans')).map((f) => ({
      what: `plans/${f}`,
      text: readFileSync(join(cfg.dir, 'plans', f), 'utf8'),
    }));
    const artifacts = [
      ...outputs,
      ...planFiles,
      { what: 'pgshift schema rows', text: state },
      { what: 'migration.yaml', text: readFileSync(file, 'utf8') },
    ];
    expect(outputs.length).toBeGreaterThan(40);
    for (const a of artifacts) {
      for (const [side, password] of [
        ['source', c.sourcePassword],
        ['target', c.targetPassword],
      ] as const) {
        expect(shows(a.text, password), `the ${side} password (or a part or spelling of it) is in ${a.what}`).toBe(
          false,
        );
      }
    }
    // patient values: only --show-values prints them (on the operator's terminal), never anything stored
    for (const a of artifacts.filter((x) => !x.what.startsWith('verify --show-values'))) {
      expect(a.text.includes(PATIENT), `a patient value is in ${a.what}`).toBe(false);
      expect(a.text.includes('ssn-42'), `a patient value is in ${a.what}`).toBe(false);
    }
    // the redacted form is what they show
    expect(outputs.some((o) => o.text.includes(`${ROLE}:***@`) || o.text.includes(`${ROLE}@`))).toBe(true);
    // and the app's env file holds the URL, as it must (it is the application's own secret store)
    expect(readFileSync(appEnv, 'utf8')).toContain(c.sourcePassword); // back to the source URL after the rollback
  }, 300_000);
});
