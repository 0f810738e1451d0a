import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { PgshiftError } from '../errors/index.js';
import { checkAliases, MAX_EXPANDED_NODES } from './aliases.js';
import { checkCharacters } from './characters.js';
import { interpolate } from './interpolate.js';
import { normalize } from './normalize.js';
import {
  type ConfigProblem,
  configErrorCode,
  escapeControl,
  Positions,
  segmentsOf,
  type PathSegment,
} from './problems.js';
import { repairForMeaning } from './repair.js';
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
  if (Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) {
    return {
      config: undefined,
      envUsed: [],
      problems: [
        {
          code: 'CONFIG_TOO_LARGE',
          line: 1,
          col: 1,
          path: '',
          message: `the file is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MB; refused before parsing`,
        },
      ],
    };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      config: undefined,
      envUsed: [],
      problems: doc.errors.map((e) => ({
        code: 'CONFIG_YAML_SYNTAX' as const,
        ...lines.linePos(e.pos[0]),
        path: '',
        message: `YAML syntax error: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  const aliasProblems = checkAliases(doc, lines);
  if (aliasProblems.length > 0) return { config: undefined, envUsed: [], problems: sortProblems(aliasProblems) };
  const positions = new Positions(doc, lines);
  if (!isMap(doc.contents)) {
    return {
      config: undefined,
      envUsed: [],
      problems: [
        positions.problem([], 'the file must be a YAML mapping (version: 1, name: ..., source: ..., target: ...)'),
      ],
    };
  }
  const interp = interpolate(doc.contents, env, positions);
  let data: unknown;
  try {
    // checkAliases has bounded the expansion; the library's own bound stays on behind it
    data = doc.toJS({ maxAliasCount: MAX_EXPANDED_NODES });
  } catch (err) {
    return {
      config: undefined,
      envUsed: interp.used,
      problems: [
        {
          code: 'CONFIG_YAML_SYNTAX',
          line: 1,
          col: 1,
          path: '',
          message: `YAML syntax error: ${(err as Error).message}`,
        },
      ],
    };
  }
  const tablesExplicit = (data as Record<string, unknown>).tables !== undefined;
  // before the schema's defaults fill it in: a batch size the file asks for is kept as it is (src/copy/heap-order.ts)
  const copySection = (data as Record<string, unknown>).copy;
  const batchSizeExplicit = typeof copySection === 'object' && copySection !== null && 'batch_size' in copySection;
  const characterProblems = checkCharacters(data, positions);
  const schemaProblems = validateAgainstSchema(data, positions);
  const problems = [...interp.problems, ...characterProblems, ...schemaProblems];
  if (problems.length === 0) {
    const config = normalize(data as RawConfig, file, dirname(resolve(file)), tablesExplicit, batchSizeExplicit);
    const meaning = checkMeaning(config, positions);
    if (meaning.length > 0) return { config: undefined, problems: sortProblems(meaning), envUsed: interp.used };
    return { config, problems: [], envUsed: interp.used };
  }
  // every problem at once: the checks of meaning run on the rest of the file, with the faulty settings taken out
  const faulty = problems.map(segmentsOf).filter((s): s is readonly PathSegment[] => s !== undefined);
  const repaired = faulty.length === problems.length ? repairForMeaning(data, faulty) : undefined;
  if (repaired) {
    const blocked = (p: readonly PathSegment[]): boolean =>
      repaired.blocked.some((b) => startsWith(p, b) || startsWith(b, p));
    const config = normalize(
      repaired.data as RawConfig,
      file,
      dirname(resolve(file)),
      tablesExplicit,
      batchSizeExplicit,
    );
    const under = (p: ConfigProblem): boolean => {
      const s = segmentsOf(p);
      return s !== undefined && repaired.blocked.some((b) => startsWith(s, b));
    };
    problems.push(...checkMeaning(config, positions, blocked).filter((p) => !under(p)));
  }
  return { config: undefined, problems: sortProblems(problems), envUsed: interp.used };
}

/** True when path begins with prefix. */
function startsWith(path: readonly PathSegment[], prefix: readonly PathSegment[]): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => String(seg) === String(path[i]));
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
}

/** The largest config file pgshift reads (a real migration.yaml is a few kilobytes). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * The text of a config file; CONFIG_NOT_FOUND (with the next step) when it cannot be read, CONFIG_TOO_LARGE when it
 * holds more than MAX_CONFIG_BYTES (refused before parsing; at most that much plus one byte is ever read, so a
 * device or a pipe that never ends is refused too).
 */
export function readConfigText(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    if (fstatSync(fd).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > MAX_CONFIG_BYTES) {
        throw new PgshiftError(
          'CONFIG_TOO_LARGE',
          `config file ${file} is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MB; refused before parsing`,
          {
            hint: 'Pass the migration.yaml with -c FILE (a real one is a few kilobytes).',
          },
        );
      }
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (err instanceof PgshiftError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new PgshiftError('CONFIG_NOT_FOUND', `cannot read config file ${file}${code ? ` (${code})` : ''}`, {
      hint:
        code === 'ENOENT'
          ? 'Pass -c FILE, or create one with `pgshift init --source URL`.'
          : code === 'EISDIR'
            ? 'Pass the file, not its folder, with -c FILE.'
            : 'Check the file permissions.',
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Reads and parses a config file; throws PgshiftError CONFIG_* listing every problem as FILE:LINE:COL. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const text = readConfigText(file);
  const result = parseConfig(text, file, env);
  if (result.config) return result.config;
  throw configError(file, result.problems, true);
}

/**
 * The error of a config with problems, for every command alike (validate prints the problems itself: details false):
 * the code of configErrorCode, so the same file fails with the same code in validate and in plan.
 */
export function configError(file: string, problems: readonly ConfigProblem[], details: boolean): PgshiftError {
  const code = configErrorCode(problems);
  return new PgshiftError(code, `${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}`, {
    hint:
      code === 'CONFIG_ENV_MISSING'
        ? 'Export the variables named above (or give defaults with ${NAME:-default}), then run `pgshift validate`.'
        : 'Fix the lines above, then run `pgshift validate`.',
    ...(details
      ? {
          details: problems.map((p) => ({
            location: `${file}:${p.line}:${p.col}`,
            message: escapeControl(p.message),
          })),
        }
      : {}),
  });
}
