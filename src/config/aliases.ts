import { isAlias, isCollection, isPair, isScalar, type Document, type LineCounter, type Node } from 'yaml';
import type { ConfigProblem, PathSegment } from './problems.js';
import { dottedPath } from './problems.js';

/**
 * The most values a config may hold once its YAML aliases are expanded. A real migration.yaml holds a few hundred;
 * a "billion laughs" file (anchors of anchors) holds billions and would exhaust memory in toJS().
 */
export const MAX_EXPANDED_NODES = 10_000;

/**
 * Checks the anchors and aliases of a parsed document before it is turned into data: an alias without an anchor
 * before it, an alias inside the node it refers to (a cycle), and aliases that together expand to more than
 * MAX_EXPANDED_NODES values (an alias bomb). Each problem is located at the alias. Linear in the document's size:
 * the expanded size of each node is computed once and capped.
 */
export function checkAliases(doc: Document, lines: LineCounter): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const anchors = new Map<string, Node>();
  const size = new Map<Node, number>();
  const open = new Set<Node>();
  let expanded = 0;
  let bombReported = false;
  const at = (node: Node, path: readonly PathSegment[], message: string): ConfigProblem => {
    const p = lines.linePos(node.range?.[0] ?? 0);
    return { code: 'CONFIG_INVALID', line: p.line, col: p.col, path: dottedPath(path), message };
  };
  const cap = (n: number): number => Math.min(n, MAX_EXPANDED_NODES + 1);

  const walk = (node: unknown, path: readonly PathSegment[]): number => {
    if (node === null || node === undefined || typeof node !== 'object') return 0;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) {
        problems.push(
          at(node, path, `YAML alias *${node.source} refers to no anchor &${node.source} defined before it`),
        );
        return 1;
      }
      if (open.has(target)) {
        problems.push(
          at(node, path, `YAML alias *${node.source} is inside the value it refers to (a cycle); write the value out`),
        );
        return 1;
      }
      const n = size.get(target) ?? 1;
      expanded = cap(expanded + n);
      if (expanded > MAX_EXPANDED_NODES && !bombReported) {
        bombReported = true;
        problems.push(
          at(
            node,
            path,
            `YAML aliases expand to more than ${MAX_EXPANDED_NODES} values here (*${node.source}): refused as an alias bomb; write the values out or use fewer aliases`,
          ),
        );
      }
      return n;
    }
    const anchored = (node as { anchor?: string }).anchor;
    if (isScalar(node)) {
      if (anchored) {
        anchors.set(anchored, node);
        size.set(node, 1);
      }
      return 1;
    }
    if (!isCollection(node)) return 0;
    if (anchored) {
      anchors.set(anchored, node);
      open.add(node);
    }
    let total = 1;
    node.items.forEach((item: unknown, i: number) => {
      if (isPair(item)) {
        const key = isScalar(item.key) ? String(item.key.value) : String(i);
        total = cap(total + walk(item.key, path) + walk(item.value, [...path, key]));
      } else {
        total = cap(total + walk(item, [...path, i]));
      }
    });
    if (anchored) {
      open.delete(node);
      size.set(node, total);
    }
    return total;
  };
  walk(doc.contents, []);
  return problems;
}
