import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/**
 * The error code of one config problem, the same in every command (validate lists them; plan, apply... throw the
 * summary code of configErrorCode): CONFIG_YAML_SYNTAX for a file that is not YAML, CONFIG_ENV_MISSING for a
 * ${VAR} that is not set, CONFIG_TOO_LARGE for a file over the size bound, CONFIG_INVALID for every other problem.
 */
export type ConfigProblemCode = 'CONFIG_INVALID' | 'CONFIG_ENV_MISSING' | 'CONFIG_YAML_SYNTAX' | 'CONFIG_TOO_LARGE';

/** One thing wrong with a config file, located in it. */
export interface ConfigProblem {
  readonly code: ConfigProblemCode;
  readonly line: number;
  readonly col: number;
  /** Dotted path of the setting (`copy.batch_size`, `tables.include[0]`), empty for the file itself. */
  readonly path: string;
  readonly message: string;
}

/**
 * The code a command fails with for a set of problems: their code when they all share one (a file whose only
 * problems are unset variables fails with CONFIG_ENV_MISSING, in validate as in plan), CONFIG_INVALID for a mix.
 */
export function configErrorCode(problems: readonly ConfigProblem[]): ConfigProblemCode {
  const codes = new Set(problems.map((p) => p.code));
  return codes.size === 1 ? [...codes][0]! : 'CONFIG_INVALID';
}

/** The setting a problem is about, as path segments (a dotted path is ambiguous: keys like public.visits). */
const SEGMENTS = new WeakMap<ConfigProblem, readonly PathSegment[]>();

/** Records the setting a problem is about, where it is not the one it is located at (a missing required key). */
export function withSegments(p: ConfigProblem, segments: readonly PathSegment[]): ConfigProblem {
  SEGMENTS.set(p, [...segments]);
  return p;
}

/** The path segments of a problem made by Positions.problem; undefined for one about the file as a whole. */
export function segmentsOf(p: ConfigProblem): readonly PathSegment[] | undefined {
  return SEGMENTS.get(p);
}

export type PathSegment = string | number;

export function dottedPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

// eslint-disable-next-line no-control-regex
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f]/g;

/** `\u0000` for a control character, so that a message never carries one to a terminal or a log. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Source positions of settings inside a parsed YAML document. */
export class Positions {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  private pos(offset: number | undefined): { line: number; col: number } {
    if (offset === undefined) return { line: 1, col: 1 };
    const p = this.lines.linePos(offset);
    return { line: p.line, col: p.col };
  }

  /** The node at a path, or the deepest existing ancestor. */
  private nodeAt(path: readonly PathSegment[]): Node | null {
    let node: unknown = this.doc.contents;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return node;
        node = pair.value;
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)];
        if (item === undefined) return node;
        node = item;
      } else {
        break;
      }
    }
    return (node as Node | null) ?? null;
  }

  /** Position of the value at path (or of its closest existing parent). */
  valueAt(path: readonly PathSegment[]): { line: number; col: number } {
    const node = this.nodeAt(path);
    return this.pos(node?.range?.[0]);
  }

  /** Position of the key `key` inside the mapping at path. */
  keyAt(path: readonly PathSegment[], key: string): { line: number; col: number } {
    const node = this.nodeAt(path);
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
      if (pair && isScalar(pair.key)) return this.pos(pair.key.range?.[0]);
    }
    return this.pos(node?.range?.[0]);
  }

  problem(
    path: readonly PathSegment[],
    message: string,
    at: 'value' | { key: string } = 'value',
    code: ConfigProblemCode = 'CONFIG_INVALID',
  ): ConfigProblem {
    const p = at === 'value' ? this.valueAt(path) : this.keyAt(path, at.key);
    const segments = at === 'value' ? [...path] : [...path, at.key];
    const problem: ConfigProblem = { code, ...p, path: dottedPath(segments), message };
    SEGMENTS.set(problem, segments);
    return problem;
  }
}

/** `FILE:LINE:COL: message`, with any control character of the message escaped (it goes to a terminal or a log). */
export function formatProblem(file: string, p: ConfigProblem): string {
  return `${file}:${p.line}:${p.col}: ${escapeControl(p.message)}`;
}
