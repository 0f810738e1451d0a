/**
 * The folders of src/ form layers: no import cycle between folders, and the foundation (log, errors, db, config, ...)
 * never imports what is built on it. Reads the relative imports of every .ts file under src/ (type-only imports
 * count too: they tie the layers as much as values do) and checks the folder graph they make.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/**
 * The foundation, lowest first: a folder may import only folders of lower rows (and itself). Every folder not listed
 * here is above all of them and may import any of them; among those only cycles are refused.
 */
const FOUNDATION: readonly (readonly string[])[] = [
  ['log'], // pino factory, redaction
  ['errors'], // PgshiftError, codes, findings
  ['db'], // connections, endpoints, quoting, server errors
  ['config'], // migration.yaml -> Config (validation resolves endpoints through db)
  ['catalog', 'state'], // what a server holds; pgshift's own state on the target
  ['mapping', 'preflight'], // source -> target mapping; preflight checks of both servers
];
/** The folders built on the foundation. cli is the top: no folder imports it. */
const UPPER: readonly string[] = [
  'plan',
  'verify',
  'security',
  'stream',
  'copy',
  'cutover',
  'apply',
  'destroy',
  'doctor',
  'init',
  'embedded',
  'demo',
  'cli',
];

/** Relative module specifiers of one file: import/export ... from, side-effect imports, import(). */
export function relativeImports(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\bfrom\s*(['"])(\.[^'"]*)\1/gm,
    /^\s*import\s*(['"])(\.[^'"]*)\1/gm,
    /\bimport\(\s*(['"])(\.[^'"]*)\1\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) if (m[2]) out.push(m[2]);
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The top-level folder of src/ a path lies in ('(root)' for a file directly in src/). */
function folderOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length > 1 ? (rel[0] ?? '(root)') : '(root)';
}

/** folder -> imported folder -> the imports that make the edge (file: specifier). */
type FolderGraph = Map<string, Map<string, string[]>>;

function folderGraph(): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const file of tsFiles(SRC)) {
    const from = folderOf(file);
    if (!graph.has(from)) graph.set(from, new Map());
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), spec);
      const to = path.relative(SRC, target).startsWith('..') ? `(outside src: ${spec})` : folderOf(target);
      if (to === from) continue;
      const edges = graph.get(from) as Map<string, string[]>;
      const why = `${path.relative(SRC, file)}: ${spec}`;
      if (!edges.get(to)?.includes(why)) edges.set(to, [...(edges.get(to) ?? []), why]);
    }
  }
  return graph;
}

/** One cycle of the graph as a path that ends where it starts, or null when there is none. */
export function findCycle(graph: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of [...(graph.get(node)?.keys() ?? [])].sort()) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (state.get(next) === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of [...graph.keys()].sort()) {
    if (state.get(node) === undefined) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return null;
}

function describeCycle(graph: FolderGraph, cycle: readonly string[]): string {
  const steps = cycle.slice(0, -1).map((from, i) => {
    const to = cycle[i + 1] as string;
    return `  ${from} -> ${to} (${(graph.get(from)?.get(to) ?? []).join(', ')})`;
  });
  return `import cycle between folders of src/: ${cycle.join(' -> ')}\n${steps.join('\n')}`;
}

describe('folder layers of src/', () => {
  const graph = folderGraph();

  it('reads the imports the code has (the parser finds real edges)', () => {
    expect(
      relativeImports(
        "import type { A } from './a.js';\nexport { b } from '../b/c.js';\nimport pg from 'pg';\nawait import('./d.js');",
      ),
    ).toEqual(['./a.js', '../b/c.js', './d.js']);
    expect(relativeImports("import {\n  x,\n  type Y,\n} from '../multi/line.js';")).toEqual(['../multi/line.js']);
    expect([...(graph.get('cli')?.keys() ?? [])]).toEqual(expect.arrayContaining(['apply', 'config', 'plan']));
    expect([...(graph.get('plan')?.keys() ?? [])]).toEqual(expect.arrayContaining(['catalog', 'db', 'state']));
  });

  it('finds a cycle when there is one (and names it)', () => {
    const g = new Map([
      ['a', new Map([['b', 1]])],
      ['b', new Map([['c', 1]])],
      ['c', new Map([['a', 1]])],
      ['d', new Map([['a', 1]])],
    ]);
    expect(findCycle(g)).toEqual(['a', 'b', 'c', 'a']);
    expect(
      findCycle(
        new Map([
          ['a', new Map([['b', 1]])],
          ['b', new Map()],
        ]),
      ),
    ).toBeNull();
  });

  it('has no import cycle between folders', () => {
    const cycle = findCycle(graph);
    expect(cycle === null ? '' : describeCycle(graph, cycle)).toBe('');
  });

  it('imports nothing from outside src/', () => {
    const outside = [...graph.values()].flatMap((edges) =>
      [...edges.entries()].filter(([to]) => to.startsWith('(outside')).flatMap(([, why]) => why),
    );
    expect(outside).toEqual([]);
  });

  it('places every folder of src/ in a layer', () => {
    const placed = new Set([...FOUNDATION.flat(), ...UPPER]);
    const unplaced = [...graph.keys()].filter((f) => !placed.has(f));
    expect(unplaced, 'add the new folder to FOUNDATION or UPPER in test/unit/layers.test.ts').toEqual([]);
  });

  it('keeps the foundation free of imports from above, and nothing imports cli', () => {
    const rank = new Map<string, number>();
    FOUNDATION.forEach((row, i) => row.forEach((f) => rank.set(f, i)));
    const wrong: string[] = [];
    for (const [from, edges] of graph) {
      for (const [to, why] of edges) {
        const fromRank = rank.get(from);
        const toRank = rank.get(to) ?? Infinity;
        if (fromRank !== undefined && toRank >= fromRank) wrong.push(`${from} -> ${to} (${why.join(', ')})`);
        if (to === 'cli') wrong.push(`${from} -> cli (${why.join(', ')})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

/**
 * Statements that write a pgshift.* table, in SQL text or through Kysely. Only src/state may hold them: every other
 * folder calls a function of src/state. (A hint that shows the user a statement is text in a message, not a write:
 * it is named in WRITE_EXCEPTIONS.)
 */
const STATE_WRITE = [
  /\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+pgshift\./i,
  /\.(?:insertInto|updateTable|deleteFrom)\(\s*['"]pgshift\./,
];
const WRITE_EXCEPTIONS: readonly string[] = [
  'copy/engine.ts', // the hint of COPY_TARGET_NOT_EMPTY shows the DELETE a user may run
];

export function stateWrites(text: string): number[] {
  return text.split('\n').flatMap((line, i) => (STATE_WRITE.some((re) => re.test(line)) ? [i + 1] : []));
}

describe('state writes', () => {
  it('finds a write in SQL text and through Kysely (the check sees real writes)', () => {
    expect(stateWrites("await c.query('DELETE FROM pgshift.objects WHERE address = $1', [a]);")).toEqual([1]);
    expect(stateWrites("x\nawait db.insertInto('pgshift.runs').values(v)")).toEqual([2]);
    expect(stateWrites("await c.query('SELECT * FROM pgshift.objects')")).toEqual([]);
  });

  it('writes every pgshift.* table only through src/state', () => {
    const outside: string[] = [];
    for (const file of tsFiles(SRC)) {
      const rel = path.relative(SRC, file).split(path.sep).join('/');
      if (rel.startsWith('state/') || WRITE_EXCEPTIONS.includes(rel)) continue;
      for (const line of stateWrites(readFileSync(file, 'utf8'))) outside.push(`${rel}:${line}`);
    }
    expect(outside, 'write pgshift.* through a function of src/state').toEqual([]);
  });
});
