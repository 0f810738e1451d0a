import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pgshift-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENV = {
  SRC_URL: 'postgres://app:src-secret@127.0.0.1:5432/clinic',
  TGT_URL: 'postgres://postgres:tgt-secret@127.0.0.1:5433/postgres',
};

const HEAD = `version: 1
name: clinic
source:
  url: \${SRC_URL}
target:
  url: \${TGT_URL}
`;

const SUPABASE = `${HEAD}  provider: supabase\n`;

/** "Billion laughs": each line holds nine aliases of the line before (9^6 values at the end). */
const BOMB = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]']
  .concat(['b', 'c', 'd', 'e', 'f', 'g'].map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdef'[i]}`).join(', ')}]`))
  .map((l) => `${l}\n`)
  .join('');

interface Case {
  readonly name: string;
  readonly yaml: string;
  /** line:col of the problem, and a piece of its message */
  readonly at: string;
  readonly says: string;
  readonly env?: Record<string, string>;
  /** The error code, the same in validate and plan (default CONFIG_INVALID). */
  readonly code?: string;
}

const CASES: Case[] = [
  {
    name: 'unknown top-level key',
    yaml: `${HEAD}tabels:\n  include: ["public.*"]\n`,
    at: '7:1',
    says: 'unknown key "tabels"; did you mean "tables"?',
  },
  {
    name: 'unknown nested key',
    yaml: `${HEAD}copy:\n  batchsize: 10\n`,
    at: '8:3',
    says: 'unknown key "batchsize" in copy; did you mean "batch_size"?',
  },
  {
    name: 'wrong type',
    yaml: `${HEAD}copy:\n  batch_size: lots\n`,
    at: '8:15',
    says: 'copy.batch_size must be a whole number, not a string',
  },
  { name: 'below minimum', yaml: `${HEAD}copy:\n  parallel: 0\n`, at: '8:13', says: 'copy.parallel must be >= 1' },
  {
    name: 'above maximum',
    yaml: `${HEAD}copy:\n  batch_size: 5000000\n`,
    at: '8:15',
    says: 'copy.batch_size must be <= 1000000',
  },
  {
    name: 'bad enum with suggestion',
    yaml: `version: 1\nname: clinic\nsource:\n  url: \${SRC_URL}\ntarget:\n  url: \${TGT_URL}\n  provider: supabse\n`,
    at: '7:13',
    says: 'did you mean "supabase"?',
  },
  {
    name: 'missing environment variable',
    yaml: HEAD.replace('${SRC_URL}', '${CLINIC_DB_URL}'),
    at: '4:8',
    says: 'environment variable CLINIC_DB_URL is not set (used in source.url)',
    code: 'CONFIG_ENV_MISSING',
  },
  {
    name: 'invalid reference',
    yaml: HEAD.replace('${SRC_URL}', '${1BAD}'),
    at: '4:8',
    says: 'is not a valid reference',
  },
  {
    name: 'same source and target',
    yaml: HEAD.replace('${TGT_URL}', '${SRC_URL}'),
    at: '6:8',
    says: 'source and target are the same database',
  },
  {
    name: 'bad duration',
    yaml: `${HEAD}cutover:\n  max_write_freeze: 60 seconds\n`,
    at: '8:21',
    says: 'must be a duration such as 500ms, 60s, 5m or 2h',
  },
  {
    name: 'duration out of range',
    yaml: `${HEAD}cutover:\n  max_write_freeze: 2h\n`,
    at: '8:21',
    says: 'cutover.max_write_freeze must be between 1s and 1h',
  },
  {
    name: 'YAML syntax error',
    yaml: `${HEAD}copy: [1, 2\n`,
    at: '8:1',
    says: 'YAML syntax error',
    code: 'CONFIG_YAML_SYNTAX',
  },
  {
    name: 'YAML bad indentation',
    yaml: `version: 1\nname: clinic\nsource:\n  url: x\n   ssl: {}\n`,
    at: '4:8',
    says: 'YAML syntax error',
    code: 'CONFIG_YAML_SYNTAX',
  },
  {
    name: 'duplicate key',
    yaml: `${HEAD}name: again\n`,
    at: '7:1',
    says: 'YAML syntax error: Map keys must be unique',
    code: 'CONFIG_YAML_SYNTAX',
  },
  {
    name: 'missing required key',
    yaml: HEAD.replace('name: clinic\n', ''),
    at: '1:1',
    says: 'missing required key "name"',
  },
  { name: 'wrong version', yaml: HEAD.replace('version: 1', 'version: 2'), at: '1:10', says: 'version must be 1' },
  {
    name: 'bad table pattern',
    yaml: `${HEAD}tables:\n  include: [patients]\n`,
    at: '8:13',
    says: 'tables.include[0] must be a table pattern schema.table',
  },
  {
    name: 'override with wildcard',
    yaml: `${HEAD}tables:\n  overrides:\n    public.*: { batch_size: 10 }\n`,
    at: '9:5',
    says: 'must name one table, without *',
  },
  {
    name: 'sslmode=prefer in URL',
    yaml: HEAD,
    env: { TGT_URL: 'postgres://postgres:tgt-secret@db.example.com:5432/postgres?sslmode=prefer' },
    at: '6:8',
    says: 'sslmode=prefer',
  },
  {
    name: 'supabase transaction pooler',
    yaml: `${HEAD}  provider: supabase\n`,
    env: { TGT_URL: 'postgres://postgres.ref:tgt-secret@aws-0-eu-central-1.pooler.supabase.com:6543/postgres' },
    at: '6:8',
    says: 'transaction pooler',
  },
  {
    name: 'supabase without TLS',
    yaml: `${HEAD}  provider: supabase\n  ssl: { mode: disable }\n`,
    env: { TGT_URL: 'postgres://postgres:tgt-secret@db.abc.supabase.co:5432/postgres' },
    at: '6:8',
    says: 'TLS is disabled for a Supabase target',
  },
  {
    name: 'CA file missing',
    yaml: `${HEAD}  ssl: { mode: verify-full, ca_file: ./nope/ca.crt }\n`,
    at: '7:38',
    says: 'ca_file: file not found',
  },
  {
    name: 'ssl mode conflicts with URL',
    yaml: `${HEAD}  ssl: { mode: verify-full }\n`,
    env: { TGT_URL: 'postgres://postgres:tgt-secret@db.example.com:5432/postgres?sslmode=require' },
    at: '7:16',
    says: 'the URL says sslmode=require but ssl.mode is verify-full',
  },
  {
    name: 'not a postgres URL',
    yaml: HEAD,
    env: { SRC_URL: 'mysql://root:src-secret@localhost/clinic' },
    at: '4:8',
    says: 'expected postgres:// or postgresql://',
  },
  { name: 'not a mapping', yaml: `- version: 1\n- name: clinic\n`, at: '1:1', says: 'the file must be a YAML mapping' },
  {
    name: 'sample bounds',
    yaml: `${HEAD}verify:\n  sample: { min_rows: 500, max_rows: 10 }\n`,
    at: '8:23',
    says: 'min_rows must not be larger than verify.sample.max_rows',
  },
  {
    name: 'auto cutover without switch',
    yaml: `${HEAD}cutover:\n  mode: auto\n`,
    at: '8:9',
    says: 'cutover.mode: auto needs cutover.switch',
  },
  // RLS: copying patient rows into an API-exposed table without RLS cannot be undone
  {
    name: 'rls off without acknowledgement',
    yaml: `${HEAD}security:\n  rls: off\n`,
    at: '8:8',
    says: 'security.rls: off leaves tables in exposed schemas readable with the public anon key; set security.acknowledge_rls_off: true',
  },
  {
    name: 'supabase rls warn without acknowledgement',
    yaml: `${SUPABASE}security:\n  rls: warn\n`,
    at: '9:8',
    says: 'security.rls: warn on a Supabase target copies rows into API-exposed tables without row level security, readable with the public anon key; set security.acknowledge_rls_off: true',
  },
  {
    name: 'supabase empty exposed_schemas without acknowledgement',
    yaml: `${SUPABASE}security:\n  exposed_schemas: []\n`,
    at: '9:20',
    says: 'security.exposed_schemas: [] on a Supabase target turns row level security off for every table',
  },
  // YAML anchors and aliases: refused before they are expanded
  {
    name: 'YAML alias bomb',
    yaml: `${HEAD}${BOMB}`,
    at: '11:8',
    says: 'YAML aliases expand to more than 10000 values here (*d): refused as an alias bomb',
  },
  {
    name: 'YAML alias without anchor',
    yaml: `${HEAD}tables:\n  include: *scope\n`,
    at: '8:12',
    says: 'YAML alias *scope refers to no anchor &scope defined before it',
  },
  {
    name: 'YAML alias cycle',
    yaml: `${HEAD}tables:\n  include: &scope ["public.*", *scope]\n`,
    at: '8:32',
    says: 'YAML alias *scope is inside the value it refers to (a cycle)',
  },
  // control characters in names, written as YAML escapes or coming from the environment
  {
    name: 'NUL in a table pattern',
    yaml: `${HEAD}tables:\n  include: ["public.pa\\0tients"]\n`,
    at: '8:13',
    says: 'tables.include[0] contains a control character (U+0000 NUL)',
  },
  {
    name: 'newline in a table pattern from the environment',
    yaml: `${HEAD}tables:\n  exclude: ["\${EXCLUDED}"]\n`,
    env: { EXCLUDED: 'public.sessions\n' },
    at: '8:13',
    says: 'tables.exclude[0] contains a control character (U+000A newline)',
  },
  {
    name: 'ESC in a schemas.map key',
    yaml: `${HEAD}schemas:\n  map:\n    "au\\eth": app_auth\n`,
    at: '9:5',
    says: 'schemas.map.au\\u001bth: the key contains a control character (U+001B ESC)',
  },
  {
    name: 'control character in a schemas.map value',
    yaml: `${HEAD}schemas:\n  map: { auth: "app\\x01auth" }\n`,
    at: '8:16',
    says: 'schemas.map.auth contains a control character (U+0001)',
  },
  {
    name: 'NUL in a role',
    yaml: `${HEAD}roles:\n  create: ["app\\0"]\n`,
    at: '8:12',
    says: 'roles.create[0] contains a control character (U+0000 NUL)',
  },
  {
    name: 'tab in an overrides key',
    yaml: `${HEAD}tables:\n  overrides:\n    "public.pat\\tients": { batch_size: 10 }\n`,
    at: '9:5',
    says: 'tables.overrides.public.pat\\u0009ients: the key contains a control character (U+0009 tab)',
  },
  {
    name: 'newline in the switch value',
    yaml: `${HEAD}cutover:\n  switch: { env_file: .env, variable: DATABASE_URL, value: "postgres://x\\nEVIL=1" }\n`,
    at: '8:60',
    says: 'cutover.switch.value contains a control character (U+000A newline)',
  },
  {
    name: 'control character in the name',
    yaml: HEAD.replace('name: clinic', 'name: "cli\\x7fnic"'),
    at: '2:7',
    says: 'name contains a control character (U+007F DEL)',
  },
  // schemas.map and the schemas pgshift or PostgreSQL own
  {
    name: 'schemas.map onto the state schema',
    yaml: `${HEAD}schemas:\n  map: { app: pgshift }\n`,
    at: '8:15',
    says: 'schemas.map: "pgshift" is pgshift\'s own state schema; destroy drops it with CASCADE, which would take the migrated tables with it; map "app" to a schema of your own',
  },
  {
    name: 'schemas.map onto pg_catalog',
    yaml: `${HEAD}schemas:\n  map: { app: pg_catalog }\n`,
    at: '8:15',
    says: 'schemas.map: "pg_catalog" is a system schema of PostgreSQL; map "app" to a schema of your own',
  },
  {
    name: 'schemas.map onto information_schema',
    yaml: `${HEAD}schemas:\n  map: { app: information_schema }\n`,
    at: '8:15',
    says: 'schemas.map: "information_schema" is a system schema of PostgreSQL',
  },
  {
    name: 'schemas.map onto a pg_ schema',
    yaml: `${HEAD}schemas:\n  map: { app: pg_app }\n`,
    at: '8:15',
    says: 'schemas.map: "pg_app" is a system schema of PostgreSQL',
  },
  {
    name: 'schemas.map from the state schema',
    yaml: `${HEAD}schemas:\n  map: { pgshift: app_state }\n`,
    at: '8:10',
    says: 'schemas.map: "pgshift" is pgshift\'s own state schema; it is never migrated, so it cannot be mapped',
  },
  {
    name: 'schemas.map from pg_catalog',
    yaml: `${HEAD}schemas:\n  map: { pg_catalog: app }\n`,
    at: '8:10',
    says: 'schemas.map: "pg_catalog" is a system schema of PostgreSQL; it is never migrated',
  },
  {
    name: 'extension schema in the state schema',
    yaml: `${HEAD}  extension_schema: pgshift\n`,
    at: '7:21',
    says: 'target.extension_schema: "pgshift" is pgshift\'s own state schema',
  },
];

describe('pgshift validate', () => {
  it.each(CASES)('$name: exit 1 and FILE:$at', (c) => {
    const file = join(dir, `${c.name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, c.yaml);
    const r = runCli(['validate', '-c', file], { ...ENV, ...c.env });
    expect(r.status, r.stderr).toBe(1);
    const line = r.stderr.split('\n').find((l) => l.startsWith(`${file}:${c.at}`));
    expect(line, r.stderr).toBeDefined();
    expect(line).toContain(c.says);
    expect(r.stderr).toContain(`Error [${c.code ?? 'CONFIG_INVALID'}]`);
    expect(r.stderr).not.toMatch(/\n\s+at .*\(.*\.js:\d+:\d+\)/); // no stack trace
    expect(r.stdout + r.stderr).not.toContain('src-secret');
    expect(r.stdout + r.stderr).not.toContain('tgt-secret');
  });

  it('reports every problem of a file at once, in file order', () => {
    const file = join(dir, 'many.yaml');
    writeFileSync(
      file,
      `${HEAD}copy:\n  batch_size: lots\n  parallel: 0\n  paralel: 2\ncutover:\n  max_write_freeze: soon\n`,
    );
    const r = runCli(['validate', '-c', file], ENV);
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith(`${file}:`));
    expect(lines.map((l) => l.slice(file.length + 1).split(': ')[0])).toEqual(['8:15', '9:13', '10:3', '12:21']);
  });

  it('reports a missing variable and a missing ca_file at once (the checks of meaning run on the rest)', () => {
    const file = join(dir, 'env-and-ca.yaml');
    writeFileSync(
      file,
      `${HEAD.replace('${SRC_URL}', '${CLINIC_DB_URL}')}  ssl: { mode: verify-full, ca_file: ./nope/ca.crt }\n`,
    );
    const r = runCli(['validate', '-c', file], ENV);
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith(`${file}:`));
    expect(lines).toEqual([
      `${file}:4:8: environment variable CLINIC_DB_URL is not set (used in source.url)`,
      `${file}:7:38: target.ssl.ca_file: file not found: ${join(dir, 'nope/ca.crt')}`,
    ]);
    // a mix of problems: CONFIG_INVALID, in validate as in plan
    expect(r.stderr).toContain('Error [CONFIG_INVALID]');
    const p = runCli(['plan', '-c', file], ENV);
    expect(p.status).toBe(1);
    expect(p.stderr).toContain('Error [CONFIG_INVALID]');
    expect(p.stderr).toContain(`${file}:4:8: environment variable CLINIC_DB_URL is not set`);
    expect(p.stderr).toContain(`${file}:7:38: target.ssl.ca_file: file not found`);
  });

  it('reports the checks of meaning beside the schema errors, never about a setting already at fault', () => {
    const file = join(dir, 'schema-and-meaning.yaml');
    writeFileSync(
      file,
      `${HEAD.replace('name: clinic\n', '')}copy:\n  parallel: 0\ncutover:\n  max_write_freeze: 2h\n  mode: auto\n  rollback_window: soon\nverify:\n  sample: { min_rows: lots, max_rows: 10 }\nsecurity:\n  rls: off\n`,
    );
    const r = runCli(['validate', '-c', file, '--json'], ENV);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as { problems: { code: string; line: number; col: number; message: string }[] };
    expect(out.problems.map((p) => `${p.line}:${p.col} ${p.message.split(';')[0]}`)).toEqual([
      '1:1 missing required key "name"',
      '7:13 copy.parallel must be >= 1',
      '9:21 cutover.max_write_freeze must be between 1s and 1h',
      '10:9 cutover.mode: auto needs cutover.switch (env_file, variable, value) to know what to switch',
      '11:20 cutover.rollback_window must be a duration such as 500ms, 60s, 5m or 2h',
      '13:23 verify.sample.min_rows must be a whole number, not a string',
      '15:8 security.rls: off leaves tables in exposed schemas readable with the public anon key',
    ]);
    expect(out.problems.every((p) => p.code === 'CONFIG_INVALID')).toBe(true);
  });

  it.each([
    ['an unset variable', HEAD.replace('${SRC_URL}', '${CLINIC_DB_URL}'), 'CONFIG_ENV_MISSING'],
    ['a YAML syntax error', `${HEAD}copy: [1, 2\n`, 'CONFIG_YAML_SYNTAX'],
    ['a schema error', `${HEAD}copy:\n  parallel: 0\n`, 'CONFIG_INVALID'],
  ])('%s: the same code from validate, validate --json and plan', (name, yaml, code) => {
    const file = join(dir, `same-code-${name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, yaml);
    const v = runCli(['validate', '-c', file], ENV);
    const j = runCli(['validate', '-c', file, '--json'], ENV);
    const p = runCli(['plan', '-c', file], ENV);
    for (const r of [v, j, p]) {
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`Error [${code}]`);
    }
    const out = JSON.parse(j.stdout) as { problems: { code: string }[] };
    expect(out.problems.map((x) => x.code)).toEqual([code]);
  });

  it('reports NUL and control characters with the schema problems, at once', () => {
    const file = join(dir, 'controls.yaml');
    writeFileSync(
      file,
      `${HEAD}tables:\n  include: ["public.pa\\0tients"]\nroles:\n  create: [app, "ro\\ele"]\ncopy:\n  parallel: 0\n`,
    );
    const r = runCli(['validate', '-c', file], ENV);
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith(`${file}:`));
    expect(lines.map((l) => l.slice(file.length + 1).split(': ')[0])).toEqual(['8:13', '10:17', '12:13']);
    // no control character reaches the terminal
    // eslint-disable-next-line no-control-regex
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it('refuses the acknowledgement-free RLS settings of a Supabase target together', () => {
    const file = join(dir, 'rls-both.yaml');
    writeFileSync(file, `${SUPABASE}security:\n  rls: warn\n  exposed_schemas: []\n`);
    const r = runCli(['validate', '-c', file], ENV);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}:9:8: security.rls: warn on a Supabase target`);
    expect(r.stderr).toContain(`${file}:10:20: security.exposed_schemas: [] on a Supabase target`);
  });

  it.each([
    ['rls: warn on supabase, acknowledged', `${SUPABASE}security: { rls: warn, acknowledge_rls_off: true }\n`],
    [
      'an empty exposed_schemas on supabase, acknowledged',
      `${SUPABASE}security: { exposed_schemas: [], acknowledge_rls_off: true }\n`,
    ],
    ['rls: warn on a postgres target (no Data API)', `${HEAD}security: { rls: warn }\n`],
    ['exposed_schemas of your own on supabase', `${SUPABASE}security: { exposed_schemas: [api] }\n`],
    [
      'a few aliases',
      `${HEAD}tables:\n  include: &scope ["public.*"]\n  overrides:\n    public.a: &big { batch_size: 10 }\n    public.b: *big\nverify:\n  sample: { seed: 7 }\n`,
    ],
    [
      'a multi-line switch command',
      `${HEAD}cutover:\n  switch:\n    env_file: .env\n    variable: DATABASE_URL\n    value: postgres://app@db/app\n    command: |\n      systemctl reload app\n      echo\tdone\n`,
    ],
  ])('accepts %s', (_name, yaml) => {
    const file = join(dir, `ok-${_name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, yaml);
    const r = runCli(['validate', '-c', file], ENV);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('an alias bomb is CONFIG_INVALID at its position for every command, not INTERNAL', () => {
    const file = join(dir, 'bomb-plan.yaml');
    writeFileSync(file, `${HEAD}${BOMB}`);
    const r = runCli(['plan', '-c', file], ENV);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Error [CONFIG_INVALID]');
    expect(r.stderr).toContain(`${file}:11:8: YAML aliases expand to more than 10000 values`);
    expect(r.stderr).not.toContain('INTERNAL');
    expect(r.stderr).not.toContain('bug');
  });

  it('refuses a config file over 1 MB before parsing it, and a device that never ends', () => {
    const file = join(dir, 'huge.yaml');
    writeFileSync(file, `${HEAD}# ${'x'.repeat(1024 * 1024)}\n`);
    for (const f of [file, '/dev/zero']) {
      const r = runCli(['validate', '-c', f], ENV);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `Error [CONFIG_TOO_LARGE]: config file ${f} is larger than 1 MB; refused before parsing`,
      );
      const p = runCli(['plan', '-c', f], ENV);
      expect(p.status).toBe(1);
      expect(p.stderr).toContain('Error [CONFIG_TOO_LARGE]');
    }
  });

  it('accepts the example migration.yaml when the two URLs are set', () => {
    const r = runCli(['validate'], {
      SOURCE_DATABASE_URL: 'postgres://app:src-secret@localhost:5432/clinic',
      TARGET_DATABASE_URL: 'postgres://postgres.ref:tgt-secret@aws-0-eu-central-1.pooler.supabase.com:5432/postgres',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('migration.yaml is valid');
  });

  it('rejects the example migration.yaml without the URLs, naming both variables', () => {
    const r = runCli(['validate']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/migration\.yaml:\d+:\d+: environment variable SOURCE_DATABASE_URL is not set/);
    expect(r.stderr).toMatch(/migration\.yaml:\d+:\d+: environment variable TARGET_DATABASE_URL is not set/);
  });

  it('prints the problems as JSON with --json', () => {
    const file = join(dir, 'json.yaml');
    writeFileSync(file, `${HEAD}copy:\n  parallel: 0\n`);
    const r = runCli(['validate', '-c', file, '--json'], ENV);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as { valid: boolean; problems: { line: number; col: number; path: string }[] };
    expect(out.valid).toBe(false);
    expect(out.problems[0]).toMatchObject({ line: 8, col: 13, path: 'copy.parallel' });
  });
});

describe('the CLI', () => {
  it('lists every command of the contract', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    for (const cmd of [
      'init',
      'validate',
      'doctor',
      'plan',
      'apply',
      'verify',
      'status',
      'cutover',
      'rollback',
      'destroy',
      'unlock',
      'demo',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\s`, 'm'));
    }
  });

  it('answers an unknown command with exit 1 and a suggestion', () => {
    const r = runCli(['valdate']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Error [USAGE]: unknown command "valdate"; did you mean "validate"?');
  });

  it('answers an unknown flag with exit 1 and no stack trace; the stack only with --log-level debug', () => {
    const r = runCli(['validate', '--bogus']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Error [USAGE]: Nonexistent flag: --bogus');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    const d = runCli(['validate', '-c', '/nonexistent/migration.yaml', '--log-level', 'debug']);
    expect(d.status).toBe(1);
    expect(d.stderr).toContain('Error [CONFIG_NOT_FOUND]');
    expect(d.stderr).toMatch(/^\s+at /m);
  });
});
