import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { PgshiftError } from '../errors/index.js';
import { interpolate } from './interpolate.js';
import { normalize } from './normalize.js';
import { type ConfigProblem, Positions } from './problems.js';
import type { RawConfig } from './raw.js';
import { validateAgainstSchema } from './schema.js';
import { checkMeaning } from './semantic.js';
import type { Config } from './types.js';

export interface ParseResult {
  readonly config: Config | undefined;
  readonly problems: readonly ConfigProblem[];
  /** Environment variables the file refers to. */
  readonly envUsed: readonly string[];
}

/** Parses config text completely: YAML, ${VAR} interpolation, JSON Schema, meaning. Reports all problems at once. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): ParseResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      config: undefined,
      envUsed: [],
      problems: doc.errors.map((e) => ({
        ...lines.linePos(e.pos[0]),
        path: '',
        message: `YAML syntax error: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  const positions = new Positions(doc, lines);
  if (!isMap(doc.contents)) {
    return { config: undefined, envUsed: [], problems: [positions.problem([], 'the file must be a YAML mapping (version: 1, name: ..., source: ..., target: ...)')] };
  }
  const interp = interpolate(doc.contents, env, positions);
  const data: unknown = doc.toJS();
  const tablesExplicit = (data as Record<string, unknown>).tables !== undefined;
  const schemaProblems = validateAgainstSchema(data, positions);
  const problems = [...interp.problems, ...schemaProblems];
  if (problems.length > 0) return { config: undefined, problems: sortProblems(problems), envUsed: interp.used };

  const config = normalize(data as RawConfig, file, dirname(resolve(file)), tablesExplicit);
  const meaning = checkMeaning(config, positions);
  if (meaning.length > 0) return { config: undefined, problems: sortProblems(meaning), envUsed: interp.used };
  return { config, problems: [], envUsed: interp.used };
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
}

/** The text of a config file; CONFIG_NOT_FOUND (with the next step) when it cannot be read. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PgshiftError('CONFIG_NOT_FOUND', `cannot read config file ${file}${code ? ` (${code})` : ''}`, {
      hint: code === 'ENOENT' ? 'Pass -c FILE, or create one with `pgshift init --source URL`.' : 'Check the file permissions.',
    });
  }
}

/** Reads and parses a config file; throws PgshiftError CONFIG_* listing every problem as FILE:LINE:COL. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const text = readConfigText(file);
  const result = parseConfig(text, file, env);
  if (result.config) return result.config;
  const first = result.problems[0];
  const syntax = first?.message.startsWith('YAML syntax error');
  const envMissing = result.problems.length > 0 && result.problems.every((p) => p.message.startsWith('environment variable'));
  throw new PgshiftError(
    syntax ? 'CONFIG_YAML_SYNTAX' : envMissing ? 'CONFIG_ENV_MISSING' : 'CONFIG_INVALID',
    `${file} has ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`,
    {
      hint: envMissing ? 'Export the variables named above (or give defaults with ${NAME:-default}), then run `pgshift validate`.' : 'Fix the lines above, then run `pgshift validate`.',
      details: result.problems.map((p) => ({ location: `${file}:${p.line}:${p.col}`, message: p.message })),
    },
  );
}
