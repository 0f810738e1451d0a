/**
 * Keeps the docs honest:
 * - docs/config-reference.md is exactly what scripts/gen-config-reference.ts makes from schemas/migration.schema.json;
 * - docs/commands.md has a section for every command of src/cli/commands with exactly its flags and arguments
 *   (short names, option values, defaults), the global flags, and the whole error-code table of src/errors/codes.ts;
 * - the GitHub Actions examples parse, and every pgshift command line in them (and in the guides) uses a real
 *   command with real flags;
 * - docs/commands.md's synopsis of each command names every flag it has;
 * - docs/configuration.md's "Settings" table names only keys of schemas/migration.schema.json, and every key of it
 *   (a key of a mapping may be described in its parent's row);
 * - docs/cutover.md lists the steps cutover and rollback print, in their order;
 * - the Node version the guides ask for is package.json's engines.node.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { collectKeys, loadSchema, REFERENCE_FILE, renderConfigReference } from '../../scripts/gen-config-reference.js';
import { BaseCommand } from '../../src/cli/base-command.js';
import { parseConfig } from '../../src/config/load.js';
import { ERROR_CODES } from '../../src/errors/codes.js';
import { cutoverSteps } from '../../src/cutover/steps/index.js';
import { rollbackSteps } from '../../src/cutover/rollback-steps/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string): string => readFileSync(resolve(ROOT, p), 'utf8');

interface FlagInfo {
  readonly name: string;
  readonly char: string | undefined;
  readonly options: readonly string[];
  readonly default: unknown;
}
interface CommandInfo {
  readonly name: string;
  readonly flags: readonly FlagInfo[];
  readonly args: readonly string[];
}
interface FlagLike {
  readonly char?: string;
  readonly options?: readonly string[];
  readonly default?: unknown;
}

function flagInfos(flags: Record<string, FlagLike> | undefined): FlagInfo[] {
  return Object.entries(flags ?? {}).map(([name, f]) => ({
    name,
    char: f.char,
    options: f.options ?? [],
    default: f.default,
  }));
}

function commandFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) return commandFiles(p);
      return f.endsWith('.ts') && !f.endsWith('.d.ts') ? [p] : [];
    });
}

async function loadCommands(): Promise<CommandInfo[]> {
  const dir = resolve(ROOT, 'src/cli/commands');
  return Promise.all(
    commandFiles(dir).map(async (file) => {
      const mod = (await import(pathToFileURL(file).href)) as {
        default: { flags?: Record<string, FlagLike>; args?: Record<string, unknown> };
      };
      // oclif: a file commands/a/b.ts is the command `a b` (topicSeparator ' ')
      const name = relative(dir, file).replace(/\.ts$/, '').split(/[\\/]/).join(' ');
      return { name, flags: flagInfos(mod.default.flags), args: Object.keys(mod.default.args ?? {}) };
    }),
  );
}

const GLOBAL_FLAGS = flagInfos(BaseCommand.baseFlags as unknown as Record<string, FlagLike>);
const commands = await loadCommands();
const byName = new Map(commands.map((c) => [c.name, c]));

/** `## heading` sections of a markdown file (fenced code is not searched for headings). */
function sections(md: string): Map<string, string> {
  const out = new Map<string, string>();
  let title = '';
  let body: string[] = [];
  let fenced = false;
  for (const line of md.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (!fenced && line.startsWith('## ')) {
      out.set(title, body.join('\n'));
      title = line.slice(3).trim();
      body = [];
    } else body.push(line);
  }
  out.set(title, body.join('\n'));
  return out;
}

const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Rows of the markdown tables of a section whose first cell names flags (`--x`) or arguments (`NAME`). */
function documentedFlags(section: string): { flags: Map<string, string>; args: Map<string, string> } {
  const flags = new Map<string, string>();
  const args = new Map<string, string>();
  for (const row of section.split('\n').filter((l) => l.startsWith('|'))) {
    const first = row.split(/(?<!\\)\|/)[1] ?? '';
    for (const m of first.matchAll(/`[^`]*`/g)) {
      const span = m[0];
      const long = /--([a-z][a-z0-9-]*)/.exec(span);
      if (long?.[1]) flags.set(long[1], row);
      else if (/^`[A-Z][A-Z0-9_]*`$/.test(span)) args.set(norm(span), row);
    }
  }
  return { flags, args };
}

function checkFlagRows(where: string, real: readonly FlagInfo[], documented: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const f of real) {
    const row = documented.get(f.name);
    if (!row) {
      problems.push(`${where}: flag --${f.name} is not in its flags table (add a row \`| \`--${f.name}\` | ... |\`)`);
      continue;
    }
    if (f.char && !row.includes(`\`-${f.char}\``))
      problems.push(`${where}: --${f.name} row does not show its short form \`-${f.char}\``);
    for (const o of f.options)
      if (!row.includes(o)) problems.push(`${where}: --${f.name} row does not list the value ${o}`);
    if ((typeof f.default === 'string' || typeof f.default === 'number') && !row.includes(String(f.default))) {
      problems.push(`${where}: --${f.name} row does not show its default ${String(f.default)}`);
    }
  }
  for (const name of documented.keys())
    if (!real.some((f) => f.name === name))
      problems.push(`${where}: documents --${name}, which the command does not have`);
  return problems;
}

/** Every `pgshift COMMAND ...` command line in a text: the command and its flags (values are not checked). */
function invocations(text: string): { command: string; flags: string[]; line: string }[] {
  const out: { command: string; flags: string[]; line: string }[] = [];
  const joined = text.replace(/\\\n\s*/g, ' ');
  for (const m of joined.matchAll(/(?:^|[\s`(])pgshift[ \t]+([a-z][a-z-]*)([^\n`]*)/g)) {
    const command = m[1] as string;
    const rest = (m[2] ?? '').split(/\s(?:\||&&|\|\||;|>|2>|2>&1|#)\s?/)[0] ?? '';
    const flags = [...rest.matchAll(/(?:^|\s)(--?[a-zA-Z][a-zA-Z0-9-]*)/g)].map((f) => f[1] as string);
    out.push({ command, flags, line: m[0].trim() });
  }
  return out;
}

function checkInvocations(where: string, text: string): string[] {
  const problems: string[] = [];
  for (const inv of invocations(text)) {
    const cmd = byName.get(inv.command);
    if (!cmd) {
      problems.push(`${where}: \`${inv.line}\` uses unknown command ${inv.command}`);
      continue;
    }
    const known = [...cmd.flags, ...GLOBAL_FLAGS];
    for (const flag of inv.flags) {
      const ok = flag.startsWith('--')
        ? known.some((f) => `--${f.name}` === flag) || flag === '--help'
        : known.some((f) => f.char && `-${f.char}` === flag) || flag === '-h';
      if (!ok) problems.push(`${where}: \`${inv.line}\` uses ${flag}, which \`pgshift ${inv.command}\` does not have`);
    }
  }
  return problems;
}

/** Code in a markdown file: fenced blocks (but ```text: program output, diagrams) and inline code spans. */
function codeOf(md: string): string {
  const fences = [...md.matchAll(/^```([^\n]*)\n([\s\S]*?)^```/gm)]
    .filter((m) => m[1]?.trim() !== 'text')
    .map((m) => m[2] ?? '');
  const withoutFences = md.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '');
  const spans = [...withoutFences.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? '');
  return [...fences, ...spans].join('\n');
}

describe('docs/config-reference.md', () => {
  it('is what `npm run docs:config` generates from schemas/migration.schema.json', () => {
    const expected = renderConfigReference(loadSchema());
    const committed = readFileSync(REFERENCE_FILE, 'utf8');
    // a plain equality keeps the failure short; the message says what to do and which keys moved
    const keysOf = (md: string): Set<string> =>
      new Set(md.split('\n').filter((l) => l.startsWith('| `') || l.startsWith('| [`')));
    const now = keysOf(expected);
    const before = keysOf(committed);
    const key = (row: string): string => /`([^`]+)`/.exec(row)?.[1] ?? row;
    const changed = [...now].filter((r) => !before.has(r)).map(key);
    const gone = [...before]
      .filter((r) => !now.has(r))
      .map(key)
      .filter((k) => !changed.includes(k));
    expect(
      committed === expected,
      `docs/config-reference.md is out of date with schemas/migration.schema.json: run \`npm run docs:config\` and commit it with the schema (new or changed: ${changed.join(', ') || 'none'}; gone: ${gone.join(', ') || 'none'})`,
    ).toBe(true);
  });

  it('is deterministic and documents every key path of the schema', () => {
    const schema = loadSchema();
    expect(renderConfigReference(schema)).toBe(
      renderConfigReference(JSON.parse(JSON.stringify(schema)) as typeof schema),
    );
    const doc = renderConfigReference(schema);
    const paths = collectKeys(schema).map((k) => k.path);
    for (const p of paths) expect(doc, p).toContain(`\`${p}\``);
    // every property name anywhere in the schema appears in some key path
    const names = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === 'properties' && x && typeof x === 'object') for (const n of Object.keys(x)) names.add(n);
          walk(x);
        }
      }
    };
    walk(schema);
    for (const n of names)
      expect(
        paths.some((p) => p === n || p.endsWith(`.${n}`)),
        `schema property ${n}`,
      ).toBe(true);
  });

  it('renders types, defaults, enums, constraints and examples of a schema it has not seen', () => {
    const doc = renderConfigReference({
      type: 'object',
      required: ['a'],
      properties: {
        a: {
          type: 'object',
          description: 'Section A.',
          properties: {
            when: { $ref: '#/definitions/duration', default: '5s' },
            mode: { enum: ['x', 'y|z'], default: 'x', examples: ['y|z'] },
          },
        },
        list: { type: 'array', items: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } } } },
      },
      definitions: { duration: { type: 'string', pattern: '^[0-9]+s$', description: 'A duration.' } },
    });
    expect(doc).toContain('| `a.when` | string (duration) |  | `5s` | matches `^[0-9]+s$` | A duration. |');
    expect(doc).toContain('| `a.mode` | string |  | `x` | `x`, `y\\|z` | Example: `y\\|z`. |');
    expect(doc).toContain('| `list[].n` | integer |  |  | ≥ 1 |  |');
    expect(doc).toContain('```yaml\na:\n  when: 5s\n  mode: y|z\n```');
  });
});

describe('docs/commands.md', () => {
  const md = read('docs/commands.md');
  const secs = sections(md);

  it('has a section per command with exactly its flags and arguments', () => {
    const problems: string[] = [];
    for (const cmd of commands) {
      const title = [...secs.keys()].find((t) => new RegExp(`^\`?pgshift ${cmd.name}\\b`).test(t));
      if (title === undefined) {
        problems.push(`no section "## pgshift ${cmd.name}" for src/cli/commands/${cmd.name.replace(/ /g, '/')}.ts`);
        continue;
      }
      const body = secs.get(title) ?? '';
      const { flags, args } = documentedFlags(body);
      problems.push(...checkFlagRows(`pgshift ${cmd.name}`, cmd.flags, flags));
      for (const a of cmd.args)
        if (!args.has(norm(a)))
          problems.push(
            `pgshift ${cmd.name}: argument ${a} is not in its table (as \`${a.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}\`)`,
          );
      for (const a of args.keys())
        if (!cmd.args.some((x) => norm(x) === a))
          problems.push(`pgshift ${cmd.name}: documents argument ${a}, which the command does not take`);
    }
    for (const t of secs.keys()) {
      const m = /^`?pgshift ([a-z][a-z -]*?)`?(?:\s|$)/.exec(t);
      if (m?.[1] && !byName.has(m[1].trim()))
        problems.push(`section "## ${t}" documents a command that src/cli/commands does not have`);
    }
    expect(problems).toEqual([]);
  });

  it('documents the global flags', () => {
    const title = [...secs.keys()].find((t) => /global flags/i.test(t));
    expect(title, 'a "## Global flags" section').toBeDefined();
    const { flags } = documentedFlags(secs.get(title ?? '') ?? '');
    expect(checkFlagRows('global flags', GLOBAL_FLAGS, flags)).toEqual([]);
  });

  it('has the error-code table of src/errors/codes.ts, with the exit status of every code', () => {
    const title = [...secs.keys()].find((t) => /error codes/i.test(t));
    expect(title, 'a "## Error codes" section').toBeDefined();
    const rows = new Map<string, number>();
    for (const m of (secs.get(title ?? '') ?? '').matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| (\d+) \|/gm))
      rows.set(m[1] as string, Number(m[2]));
    const missing = Object.entries(ERROR_CODES)
      .filter(([c]) => !rows.has(c))
      .map(([c, x]) => `| \`${c}\` | ${x} | <meaning> |`);
    const wrong = Object.entries(ERROR_CODES)
      .filter(([c, x]) => rows.has(c) && rows.get(c) !== x)
      .map(([c, x]) => `${c}: doc says ${rows.get(c)}, codes.ts says ${x}`);
    const extra = [...rows.keys()].filter((c) => !(c in ERROR_CODES));
    expect({ missing, wrong, extra }).toEqual({ missing: [], wrong: [], extra: [] });
  });

  it('lists every exit status a command can end with', () => {
    const title = [...secs.keys()].find((t) => /exit status/i.test(t));
    expect(title, 'a "## Exit status" section').toBeDefined();
    const listed = new Set([...(secs.get(title ?? '') ?? '').matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])));
    const possible = new Set<number>([0, 2, ...Object.values(ERROR_CODES)]);
    expect([...listed].sort((a, b) => a - b)).toEqual([...possible].sort((a, b) => a - b));
  });
});

describe('docs/commands.md synopses', () => {
  const md = read('docs/commands.md');
  const secs = sections(md);

  it('name every flag of their command', () => {
    const problems: string[] = [];
    for (const cmd of commands) {
      const title = [...secs.keys()].find((t) => new RegExp(`^\`?pgshift ${cmd.name}\\b`).test(t));
      const body = secs.get(title ?? '') ?? '';
      const synopsis = [...body.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1] ?? '').join('\n');
      if (!synopsis.includes(`pgshift ${cmd.name}`)) {
        problems.push(`pgshift ${cmd.name}: no \`\`\`sh synopsis`);
        continue;
      }
      for (const f of cmd.flags) {
        const named = new RegExp(`(^|[\\s\\[|])(--${f.name}|-${f.char ?? '@'})(?![a-z-])`, 'm').test(synopsis);
        if (!named) problems.push(`pgshift ${cmd.name}: the synopsis does not show --${f.name}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('docs/configuration.md', () => {
  const md = read('docs/configuration.md');
  const settings = sections(md).get('Settings') ?? '';
  const rows = settings.split('\n').filter((l) => l.startsWith('| `'));
  /** The keys a row documents: the code spans of its first cell (`source.ssl.mode` / `target.ssl.mode`). */
  const keysOf = (row: string): string[] =>
    [...(row.split(/(?<!\\)\|/)[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
  const documented = new Map(rows.flatMap((r) => keysOf(r).map((k) => [k, r] as const)));
  const schemaKeys = collectKeys(loadSchema())
    .map((k) => k.path)
    .filter((p) => p !== '$schema');
  const leaves = schemaKeys.filter((k) => !schemaKeys.some((o) => o.startsWith(`${k}.`)));

  it('has a Settings table', () => {
    expect(rows.length).toBeGreaterThan(20);
  });

  it('documents only keys of schemas/migration.schema.json', () => {
    expect([...documented.keys()].filter((k) => !schemaKeys.includes(k))).toEqual([]);
  });

  it('documents every setting of schemas/migration.schema.json', () => {
    const missing = leaves.filter((leaf) => {
      if (documented.has(leaf)) return false;
      // a key inside a documented mapping: its row names it (`env_file`, `{percent: 1, ...}`), or it is the map's value
      const parts = leaf.split('.');
      for (let i = parts.length - 1; i > 0; i--) {
        const row = documented.get(parts.slice(0, i).join('.'));
        if (row === undefined) continue;
        const name = parts[parts.length - 1] as string;
        const spans = [...row.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string).slice(keysOf(row).length);
        return !(name.startsWith('<') || spans.some((sp) => new RegExp(`(^|[^a-z_])${name}($|[^a-z_])`).test(sp)));
      }
      return true;
    });
    expect(missing, 'add a row `| `key` | default | meaning |` to the Settings table').toEqual([]);
  });
});

describe('docs/cutover.md', () => {
  const md = read('docs/cutover.md');
  /** The `> step` lines of the fenced block that follows a heading or a sentence containing `after`. */
  const stepsAfter = (after: string): string[] => {
    const at = md.indexOf(after);
    expect(at, after).toBeGreaterThanOrEqual(0);
    const block = /```\n([\s\S]*?)```/.exec(md.slice(at))?.[1] ?? '';
    return [...block.matchAll(/^\s+> (.+?)(?: {2,}.*)?$/gm)].map((m) => (m[1] as string).trim());
  };
  const config = parseConfig(
    'version: 1\nname: x\nsource:\n  url: postgres://a@127.0.0.1/a\ntarget:\n  url: postgres://a@127.0.0.1/b\ncutover:\n  switch: { env_file: .env, variable: DATABASE_URL, value: x, command: reload }\n',
    resolve(ROOT, 'migration.yaml'),
    {},
  ).config;
  if (!config) throw new Error('the example config of this test is invalid');
  const titles = (steps: readonly { title: (ctx: never) => string }[]): string[] =>
    steps.map((s) => s.title({ config } as never)).filter((t) => t !== '');

  it('lists the rollback steps, the catch-up first', () => {
    expect(stepsAfter('## Rollback')).toEqual(titles(rollbackSteps(config)));
  });

  it('lists the steps of a freeze cutover', () => {
    expect(stepsAfter('## What `pgshift cutover` does')).toEqual(titles(cutoverSteps(config, 'freeze')));
  });

  it('names the steps of a stream cutover as the tool does', () => {
    const real = titles(cutoverSteps(config, 'stream'));
    const listed = stepsAfter('- **`stream`**').filter((t) => !t.includes(' as below'));
    expect(listed.filter((t) => !real.includes(t))).toEqual([]);
  });
});

describe('the Node version', () => {
  it("is package.json's engines.node in README.md and docs/getting-started.md", () => {
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    const min = /^>=\s*(\d+(?:\.\d+)*)$/.exec(engines)?.[1];
    expect(min, engines).toBeDefined();
    for (const file of ['README.md', 'docs/getting-started.md']) {
      const said = [...read(file).matchAll(/Node(?:\.js)? (\d+(?:\.\d+)*)\+/g)].map((m) => m[1]);
      expect(said.length, file).toBeGreaterThan(0);
      expect(said, file).toEqual(said.map(() => min));
    }
  });
});

describe('guides and GitHub Actions examples', () => {
  const guides = ['README.md', 'docs/commands.md', 'docs/getting-started.md', 'docs/gitops.md'];

  it.each(guides)('%s: every pgshift command line uses a real command and real flags', (file) => {
    expect(checkInvocations(file, codeOf(read(file)))).toEqual([]);
  });

  const slug = (h: string): string =>
    h
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
  const anchorsOf = (file: string): Set<string> =>
    new Set([...read(file).matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] ?? '')));

  it.each([...guides, 'docs/config-reference.md'])(
    '%s: every relative link points at a file (and heading) that exists',
    (file) => {
      const problems: string[] = [];
      const md = read(file).replace(/^```[^\n]*\n[\s\S]*?^```/gm, '');
      for (const m of md.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/.test(target)) continue;
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const resolved = path ? relative(ROOT, resolve(ROOT, file, '..', path)) : file;
        let exists = true;
        try {
          statSync(resolve(ROOT, resolved));
        } catch {
          exists = false;
        }
        if (!exists) {
          problems.push(`${file}: link ${target} -> ${resolved} does not exist`);
          continue;
        }
        if (anchor && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor))
          problems.push(`${file}: link ${target}: no heading #${anchor} in ${resolved}`);
      }
      expect(problems).toEqual([]);
    },
  );

  it("docs/getting-started.md: its example migration.yaml validates (the CA file aside: it is the reader's)", () => {
    const blocks = [...read('docs/getting-started.md').matchAll(/^```yaml\n([\s\S]*?)^```/gm)]
      .map((m) => m[1] ?? '')
      .filter((b) => /^version: 1$/m.test(b));
    expect(blocks.length).toBeGreaterThan(0);
    const env = {
      SOURCE_DATABASE_URL: 'postgres://app:pw@db.internal:5432/clinic',
      TARGET_DATABASE_URL: 'postgres://postgres.ref:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres',
      TARGET_APP_DATABASE_URL: 'postgres://postgres.ref:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres',
    };
    for (const b of blocks) {
      const problems = parseConfig(b, resolve(ROOT, 'migration.yaml'), env).problems.filter(
        (p) => !(p.path.endsWith('ca_file') && /not found/.test(p.message)),
      );
      expect(problems).toEqual([]);
    }
  });

  it('the guides link to each other from README.md', () => {
    const readme = read('README.md');
    for (const doc of ['docs/getting-started.md', 'docs/config-reference.md', 'docs/commands.md', 'docs/gitops.md'])
      expect(readme).toContain(`(${doc})`);
  });

  const workflows = readdirSync(resolve(ROOT, 'examples/github-actions'))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();

  it.each(workflows)(
    'examples/github-actions/%s is a well-formed workflow whose pgshift command lines are real',
    (file) => {
      const text = read(`examples/github-actions/${file}`);
      const wf = parse(text) as {
        on?: unknown;
        jobs?: Record<string, { 'runs-on'?: unknown; steps?: Record<string, unknown>[] }>;
      };
      expect(wf.on, 'on:').toBeDefined();
      expect(Object.keys(wf.jobs ?? {}).length).toBeGreaterThan(0);
      const problems: string[] = [];
      for (const [id, job] of Object.entries(wf.jobs ?? {})) {
        if (!job['runs-on']) problems.push(`job ${id}: no runs-on`);
        if (!Array.isArray(job.steps) || job.steps.length === 0) problems.push(`job ${id}: no steps`);
        for (const [i, step] of (job.steps ?? []).entries()) {
          const kinds = ['uses', 'run'].filter((k) => k in step);
          if (kinds.length !== 1) problems.push(`job ${id} step ${i}: needs exactly one of uses/run`);
          if (typeof step.uses === 'string' && !/^[\w.-]+\/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40})$/.test(step.uses))
            problems.push(`job ${id} step ${i}: ${step.uses} is not pinned to a version`);
          if (typeof step.run === 'string') problems.push(...checkInvocations(`${file} job ${id} step ${i}`, step.run));
        }
      }
      expect(problems).toEqual([]);
    },
  );

  it('pgshift.yml: plan on pull request with a sticky markdown comment and a saved plan; apply that plan on main, one at a time', () => {
    type Step = {
      name?: string;
      uses?: string;
      run?: string;
      env?: Record<string, string>;
      with?: Record<string, string>;
      if?: string;
    };
    type Job = {
      if?: string;
      permissions?: Record<string, string>;
      concurrency?: { group?: string; 'cancel-in-progress'?: boolean };
      env?: Record<string, string>;
      steps: Step[];
      environment?: unknown;
    };
    const wf = parse(read('examples/github-actions/pgshift.yml')) as {
      on: { pull_request?: { paths?: string[] }; push?: { branches?: string[]; paths?: string[] } };
      env?: Record<string, string>;
      jobs: Record<string, Job>;
    };
    expect(wf.on.pull_request?.paths).toEqual(expect.arrayContaining(['migration.yaml', 'plans/**']));
    expect(wf.on.push?.branches).toContain('main');
    const planFile = wf.env?.PLAN_FILE ?? '';
    expect(planFile).toMatch(/^plans\/[A-Za-z0-9_-]+\.plan\.json$/);
    expect(String(wf.env?.CI)).toBe('true');

    const runs = (job: Job): string => job.steps.map((s) => s.run ?? '').join('\n');
    const jobs = Object.values(wf.jobs);
    const plan = jobs.find((j) => invocations(runs(j)).some((i) => i.command === 'plan'));
    const apply = jobs.find((j) => invocations(runs(j)).some((i) => i.command === 'apply'));
    expect(plan && apply).toBeTruthy();
    if (!plan || !apply) return;

    expect(plan.if).toContain("github.event_name == 'pull_request'");
    expect(plan.permissions?.['pull-requests']).toBe('write');
    const planCall = invocations(runs(plan)).find((i) => i.command === 'plan');
    expect(planCall?.flags).toEqual(expect.arrayContaining(['--format', '--out']));
    expect(planCall?.line).toMatch(/--format markdown/);
    expect(planCall?.line).toContain('--out "$PLAN_FILE"');
    const comment = plan.steps.find((s) => s.uses?.startsWith('actions/github-script@'));
    expect(comment?.with?.script).toMatch(/updateComment/);
    expect(comment?.with?.script).toMatch(/createComment/);
    expect(comment?.with?.script).toMatch(/<!-- pgshift-plan -->/);
    expect(runs(plan)).toMatch(/git add "\$PLAN_FILE"/);

    expect(apply.if).toContain("github.event_name == 'push'");
    expect(apply.concurrency?.group).toBeTruthy();
    expect(apply.concurrency?.['cancel-in-progress']).toBe(false);
    const applyCall = invocations(runs(apply)).find((i) => i.command === 'apply');
    expect(applyCall?.line).toMatch(/pgshift apply "\$PLAN_FILE" --auto-approve/);
    // secrets come from GitHub secrets, into the variables migration.yaml reads
    const yamlText = read('examples/github-actions/pgshift.yml');
    for (const v of ['SOURCE_DATABASE_URL', 'TARGET_DATABASE_URL'])
      expect(yamlText).toContain(`${v}: \${{ secrets.${v} }}`);
    // untrusted event fields never go straight into a shell script
    for (const s of jobs.flatMap((j) => j.steps))
      expect(s.run ?? '', s.name).not.toMatch(
        /\$\{\{\s*github\.(head_ref|event\.pull_request\.(title|body|head\.ref))/,
      );
  });
});
