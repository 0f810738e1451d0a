import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** One thing wrong with a config file, located in it. */
export interface ConfigProblem {
  readonly line: number;
  readonly col: number;
  /** Dotted path of the setting (`copy.batch_size`, `tables.include[0]`), empty for the file itself. */
  readonly path: string;
  readonly message: string;
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

  problem(path: readonly PathSegment[], message: string, at: 'value' | { key: string } = 'value'): ConfigProblem {
    const p = at === 'value' ? this.valueAt(path) : this.keyAt(path, at.key);
    return { ...p, path: dottedPath(at === 'value' ? path : [...path, at.key]), message };
  }
}

/** `FILE:LINE:COL: message`, with any control character of the message escaped (it goes to a terminal or a log). */
export function formatProblem(file: string, p: ConfigProblem): string {
  return `${file}:${p.line}:${p.col}: ${escapeControl(p.message)}`;
}
