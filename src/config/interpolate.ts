import { isMap, isPair, isScalar, isSeq, parse as parseYaml, Scalar, type Node } from 'yaml';
import type { ConfigProblem, PathSegment, Positions } from './problems.js';
import { dottedPath } from './problems.js';

const REF = /\$\$\{|\$\{([^}]*)\}/g;
const NAME = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

export interface InterpolationResult {
  readonly problems: ConfigProblem[];
  /** Names of the environment variables the file read. */
  readonly used: string[];
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every scalar value (never in keys) in place. `$${` stands for a
 * literal `${`. A plain (unquoted) scalar made only of one reference takes the YAML type of the value
 * (so `batch_size: ${BATCH}` is a number); quoted scalars stay strings.
 */
export function interpolate(root: Node | null, env: NodeJS.ProcessEnv, positions: Positions): InterpolationResult {
  const problems: ConfigProblem[] = [];
  const used = new Set<string>();

  const visitScalar = (node: Scalar, path: PathSegment[]): void => {
    if (typeof node.value !== 'string' || !node.value.includes('$')) return;
    const text = node.value;
    let whole = false;
    let failed = false;
    const out = text.replace(REF, (match: string, inner: string | undefined, offset: number) => {
      if (match === '$${') return '${';
      const m = NAME.exec(inner ?? '');
      if (!m) {
        problems.push(
          positions.problem(
            path,
            `${dottedPath(path)}: "${match}" is not a valid reference; use \${NAME} or \${NAME:-default}`,
          ),
        );
        failed = true;
        return match;
      }
      const name = m[1] as string;
      used.add(name);
      const value = env[name];
      whole = offset === 0 && match.length === text.length;
      if (value !== undefined && value !== '') return value;
      if (m[2] !== undefined) return m[2];
      problems.push(
        positions.problem(
          path,
          `environment variable ${name} is not set (used in ${dottedPath(path)})`,
          'value',
          'CONFIG_ENV_MISSING',
        ),
      );
      failed = true;
      return match;
    });
    if (failed) return;
    if (whole && node.type === Scalar.PLAIN) {
      const typed: unknown = safeScalar(out);
      node.value = typed;
    } else {
      node.value = out;
    }
  };

  const walk = (node: unknown, path: PathSegment[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isScalar(node)) {
      visitScalar(node, path);
    }
  };
  walk(root, []);
  return { problems, used: [...used] };
}

function safeScalar(text: string): unknown {
  try {
    const v: unknown = parseYaml(text);
    return typeof v === 'number' || typeof v === 'boolean' ? v : text;
  } catch {
    return text;
  }
}
