/**
 * Load a plain SQL script (a pg_dump in plain format, a sample database's install script) the way
 * `psql -v ON_ERROR_STOP=1 -f FILE` would, with nothing but Node and `pg`: a user's machine (and CI)
 * has no psql binary.
 *
 * The psql subset implemented here:
 *  - statement splitting like psql's lexer: '…' strings ('' escapes), E'…' strings (backslash escapes),
 *    "…" identifiers, $$…$$ and $tag$…$tag$ bodies, -- and nested /* *\/ comments; a statement ends at a
 *    `;` outside parentheses and outside a CREATE FUNCTION/PROCEDURE … BEGIN ATOMIC … END body (the same
 *    heuristic psql uses). A last statement without `;` at end of input is run too, as psql does.
 *    Plain '…' strings are read with standard_conforming_strings = on (the default since 9.1).
 *  - `COPY … FROM stdin;` followed by data lines up to a line `\.` (or end of input, as psql): the data
 *    is streamed with pg-copy-streams, byte for byte as it is in the file.
 *  - meta-commands (a backslash outside any quote, at the start of a statement): `\c NAME` / `\connect NAME`
 *    switch to database NAME on the same server with the same credentials (a new session, as psql makes);
 *    `\set`, `\pset`, `\echo`, `\encoding` are ignored (errors always stop the load, as with
 *    ON_ERROR_STOP=1); any other meta-command is an error naming its line.
 *  - the first error stops the load; the error names the file, the statement's line and the server's message.
 *  - psql variables (:name, :'name') are NOT interpolated.
 *
 * `databaseRenames` (old name -> new name) lets a caller load a script that creates and connects to a fixed
 * database (chinook: DROP DATABASE IF EXISTS chinook; CREATE DATABASE chinook; \c chinook) into a database
 * the caller made. For a database named as a key of the map:
 *  - `DROP DATABASE [IF EXISTS] old …` and `CREATE DATABASE old …` are SKIPPED (options of CREATE DATABASE
 *    are ignored with it): the caller's database must already exist, and should be empty;
 *  - `\c old` connects to the new name instead;
 *  - any other statement that names `DATABASE old` (ALTER DATABASE, COMMENT ON DATABASE, GRANT … ON DATABASE)
 *    is an error rather than being silently applied to the wrong database.
 * Keys are compared with the database name as the server would read it (unquoted SQL names folded to lower
 * case, "quoted" ones as written; a `\c` argument is taken as written, as psql does).
 *
 * Every statement goes to the server alone, in the simple query protocol (client.query(text), no
 * parameters), on one pg.Client per database connected to (closed when the script moves on or ends);
 * each new session first runs SET client_min_messages = warning.
 */
import { readFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';

import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { withDatabase } from './sql.js';

export interface LoadSqlOptions {
  /** old database name -> the name to use instead (see the module comment) */
  databaseRenames?: Record<string, string>;
  /** how the script is named in errors (loadSqlText; loadSqlFile uses the file path) */
  source?: string;
}

/** One unit of a script, in file order. Lines are 1-based. */
export type ScriptItem =
  | {
      kind: 'sql';
      /** the statement, from its first significant character up to (not including) its `;` */
      sql: string;
      /** line of the statement's first significant character */
      line: number;
    }
  | {
      kind: 'copy';
      /** the COPY … FROM stdin statement, without its `;` */
      sql: string;
      line: number;
      /** the data lines exactly as in the script, each with its line end, without the `\.` line */
      data: string;
      /** line of the first data line */
      dataLine: number;
    }
  | {
      kind: 'meta';
      /** the command name without its backslash: 'c', 'connect', 'set', '.' … */
      command: string;
      /** the rest of the line after the command, trimmed */
      args: string;
      /** the whole meta-command as written (for errors) */
      text: string;
      line: number;
    };

/** A script the splitter cannot read, or a failed statement: names the source, the line and the cause. */
export class LoadSqlError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    detail: string,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}:${line}: ${detail}`, options);
    this.name = 'LoadSqlError';
  }
}

/* ------------------------------------------------------------------------------------------------ */
/* splitting                                                                                         */
/* ------------------------------------------------------------------------------------------------ */

function isIdentStart(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code >= 128;
}

function isIdentChar(code: number): boolean {
  return isIdentStart(code) || (code >= 48 && code <= 57) || code === 36;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13 || code === 12 || code === 11;
}

/** A word or "quoted identifier" at parenthesis depth 0; value is the name as the server reads it. */
interface Word {
  value: string;
  quoted: boolean;
}

const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uFFFF][A-Za-z_0-9\u0080-\uFFFF]*)?\$/y;

/** 1-based line of each offset, by binary search over the newline offsets. */
function lineIndex(text: string): (offset: number) => number {
  const newlines: number[] = [];
  for (let p = text.indexOf('\n'); p !== -1; p = text.indexOf('\n', p + 1)) newlines.push(p);
  return (offset: number): number => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((newlines[mid] as number) < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

function hasSequence(words: Word[], a: string, b: string): boolean {
  for (let k = 0; k + 1 < words.length; k++) {
    const w = words[k] as Word;
    const next = words[k + 1] as Word;
    if (!w.quoted && !next.quoted && w.value === a && next.value === b) return true;
  }
  return false;
}

/**
 * Split a psql script into statements, COPY … FROM stdin blocks (with their data) and meta-commands.
 * Throws a LoadSqlError (naming `source` and the line) on an unterminated quote, comment or dollar
 * quote, a meta-command in the middle of a statement, text after `COPY … FROM stdin;` on its line,
 * and COPY … TO STDOUT.
 */
export function splitStatements(text: string, source = '<sql text>'): ScriptItem[] {
  return scan(text, source).map(({ item }) => item);
}

/** splitStatements, with the top-level words of each statement (for the DATABASE renames). */
function scan(text: string, source: string): { item: ScriptItem; words: Word[] }[] {
  const lineOf = lineIndex(text);
  const fail = (offset: number, detail: string): never => {
    throw new LoadSqlError(source, lineOf(offset), detail);
  };
  const items: { item: ScriptItem; words: Word[] }[] = [];
  const n = text.length;

  let i = 0;
  let start = -1; // offset of the current statement's first significant character
  let parenDepth = 0;
  let beginDepth = 0;
  let words: Word[] = [];
  let identCount = 0; // psql's identifier_count (all words, any depth)
  const heads: string[] = []; // psql's identifiers[]: first letters of create/or/replace/function/procedure

  const reset = (): void => {
    start = -1;
    parenDepth = 0;
    beginDepth = 0;
    words = [];
    identCount = 0;
    heads.length = 0;
  };

  const finishStatement = (end: number, next: number): number => {
    const sql = text.slice(start, end);
    const line = lineOf(start);
    const first = words[0];
    if (first && !first.quoted && first.value === 'copy' && hasSequence(words, 'from', 'stdin')) {
      // data starts on the next line; the rest of this line may only hold blanks or a -- comment
      const nl = text.indexOf('\n', next);
      const restEnd = nl === -1 ? n : nl;
      const rest = text.slice(next, restEnd).trim();
      if (rest !== '' && !rest.startsWith('--')) {
        fail(next, `text after "COPY … FROM stdin;" on the same line is not supported: ${JSON.stringify(rest)}`);
      }
      const dataStart = nl === -1 ? n : nl + 1;
      let pos = dataStart;
      let dataEnd = n;
      let after = n;
      while (pos < n) {
        const lineEnd = text.indexOf('\n', pos);
        const stop = lineEnd === -1 ? n : lineEnd;
        if (
          text.startsWith('\\.', pos) &&
          (stop === pos + 2 || (stop === pos + 3 && text.charCodeAt(pos + 2) === 13))
        ) {
          dataEnd = pos;
          after = lineEnd === -1 ? n : lineEnd + 1;
          break;
        }
        pos = lineEnd === -1 ? n : lineEnd + 1;
      }
      // psql also ends COPY data at end of input without a \. line
      items.push({
        item: { kind: 'copy', sql, line, data: text.slice(dataStart, dataEnd), dataLine: lineOf(dataStart) },
        words,
      });
      reset();
      return after;
    }
    if (first && !first.quoted && first.value === 'copy' && hasSequence(words, 'to', 'stdout')) {
      fail(start, 'COPY … TO STDOUT is not supported by this loader');
    }
    items.push({ item: { kind: 'sql', sql, line }, words });
    reset();
    return next;
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    // -- comment: up to the end of the line
    if (c === 45 /* - */ && text.charCodeAt(i + 1) === 45) {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? n : nl;
      continue;
    }
    // /* comment */, nested
    if (c === 47 /* / */ && text.charCodeAt(i + 1) === 42 /* * */) {
      const open = i;
      let depth = 1;
      i += 2;
      while (depth > 0) {
        if (i >= n) fail(open, 'unterminated /* comment');
        if (text.charCodeAt(i) === 47 && text.charCodeAt(i + 1) === 42) {
          depth++;
          i += 2;
        } else if (text.charCodeAt(i) === 42 && text.charCodeAt(i + 1) === 47) {
          depth--;
          i += 2;
        } else {
          i++;
        }
      }
      continue;
    }
    // psql meta-command: backslash outside any quote; runs to the end of the line
    if (c === 92 /* \ */) {
      if (start !== -1) {
        fail(i, `a psql meta-command inside a statement is not supported (statement from line ${lineOf(start)})`);
      }
      const nl = text.indexOf('\n', i);
      const lineEnd = nl === -1 ? n : nl;
      const whole = text.slice(i, lineEnd).replace(/\r$/, '');
      const m = /^\\([A-Za-z]+|[^A-Za-z\s])(.*)$/s.exec(whole);
      items.push({
        item: { kind: 'meta', command: m?.[1] ?? '', args: (m?.[2] ?? '').trim(), text: whole.trim(), line: lineOf(i) },
        words: [],
      });
      i = lineEnd;
      continue;
    }

    if (start === -1) start = i;

    if (c === 59 /* ; */) {
      if (parenDepth === 0 && beginDepth === 0) {
        i = finishStatement(i, i + 1);
      } else {
        i++;
      }
      continue;
    }
    if (c === 40 /* ( */) {
      parenDepth++;
      i++;
      continue;
    }
    if (c === 41 /* ) */) {
      if (parenDepth > 0) parenDepth--;
      i++;
      continue;
    }
    // '…' string; E'…' is handled below where the E word is read
    if (c === 39 /* ' */) {
      i = skipString(text, i, false, fail);
      continue;
    }
    // "quoted identifier"
    if (c === 34 /* " */) {
      const open = i;
      let p = i + 1;
      for (;;) {
        const q = text.indexOf('"', p);
        if (q === -1) fail(open, 'unterminated quoted identifier');
        if (text.charCodeAt(q + 1) === 34) {
          p = q + 2;
          continue;
        }
        if (parenDepth === 0) words.push({ value: text.slice(open + 1, q).replace(/""/g, '"'), quoted: true });
        i = q + 1;
        break;
      }
      continue;
    }
    // $tag$ … $tag$ (a $ followed by a digit is a parameter, not a dollar quote)
    if (c === 36 /* $ */) {
      DOLLAR_TAG.lastIndex = i;
      const m = DOLLAR_TAG.exec(text);
      if (m) {
        const delim = m[0];
        const close = text.indexOf(delim, i + delim.length);
        if (close === -1) fail(i, `unterminated dollar-quoted string ${delim}`);
        i = close + delim.length;
      } else {
        i++;
      }
      continue;
    }
    // a word: keyword or unquoted identifier
    if (isIdentStart(c)) {
      let p = i + 1;
      while (p < n && isIdentChar(text.charCodeAt(p))) p++;
      const raw = text.slice(i, p);
      if ((raw === 'E' || raw === 'e') && text.charCodeAt(p) === 39) {
        i = skipString(text, p, true, fail);
        continue;
      }
      const lower = raw.replace(/[A-Z]+/g, (s) => s.toLowerCase());
      if (parenDepth === 0) words.push({ value: lower, quoted: false });
      // psql's heuristic for CREATE [OR REPLACE] {FUNCTION|PROCEDURE} … BEGIN ATOMIC … END
      if (
        lower === 'create' ||
        lower === 'function' ||
        lower === 'procedure' ||
        lower === 'or' ||
        lower === 'replace'
      ) {
        if (identCount < 4) heads[identCount] = lower[0] as string;
      }
      identCount++;
      const h = (k: number): string | undefined => heads[k];
      if (
        h(0) === 'c' &&
        (h(1) === 'f' || h(1) === 'p' || (h(1) === 'o' && h(2) === 'r' && (h(3) === 'f' || h(3) === 'p'))) &&
        parenDepth === 0
      ) {
        if (lower === 'begin') beginDepth++;
        else if (lower === 'case' && beginDepth >= 1) beginDepth++;
        else if (lower === 'end' && beginDepth > 0) beginDepth--;
      }
      i = p;
      continue;
    }
    // a number, an operator, a comma …: part of the statement
    i++;
  }
  if (start !== -1) finishStatement(n, n); // psql runs an unterminated last statement at end of input
  return items;
}

/** Skip a '…' string starting at the quote `open`; returns the offset after the closing quote. */
function skipString(
  text: string,
  open: number,
  backslashEscapes: boolean,
  fail: (offset: number, detail: string) => never,
): number {
  const n = text.length;
  let p = open + 1;
  for (;;) {
    if (p >= n) fail(open, backslashEscapes ? "unterminated E'…' string" : 'unterminated quoted string');
    const ch = text.charCodeAt(p);
    if (backslashEscapes && ch === 92) {
      p += 2;
    } else if (ch === 39) {
      if (text.charCodeAt(p + 1) === 39) p += 2;
      else return p + 1;
    } else {
      p++;
    }
  }
}

/* ------------------------------------------------------------------------------------------------ */
/* loading                                                                                           */
/* ------------------------------------------------------------------------------------------------ */

const IGNORED_META = new Set(['set', 'pset', 'echo', 'encoding']);

/** The database name of a `\c` argument: "quoted" as written, else as written minus trailing semicolons. */
function connectTarget(args: string): string | null {
  const trimmed = args.trim();
  const quoted = /^"((?:[^"]|"")*)";*$/.exec(trimmed);
  if (quoted) return (quoted[1] as string).replace(/""/g, '"');
  const name = trimmed.replace(/;+$/, '');
  // one plain name only: no further arguments (user, host, port), no connection string, no "-"
  if (name === '' || name === '-' || /[\s='"]/.test(name) || /^postgres(ql)?:/.test(name)) return null;
  return name;
}

interface PgServerError {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
}

function describeServerError(
  err: unknown,
  item: { sql: string; line: number },
  dataLine?: number,
): { text: string; code?: string } {
  const e = err as PgServerError;
  const parts: string[] = [e.message ?? String(err)];
  if (e.code) parts[0] += ` (SQLSTATE ${e.code})`;
  const position = Number(e.position);
  if (Number.isInteger(position) && position > 0) {
    const before = item.sql.slice(0, position - 1);
    const at = item.line + (before.match(/\n/g)?.length ?? 0);
    if (at !== item.line) parts.push(`at line ${at}`);
  }
  if (dataLine !== undefined && e.where) {
    const m = /COPY [^,]+, line (\d+)/.exec(e.where);
    if (m) parts.push(`in COPY data at line ${dataLine + Number(m[1]) - 1}`);
  }
  if (e.detail) parts.push(`DETAIL: ${e.detail}`);
  if (e.hint) parts.push(`HINT: ${e.hint}`);
  const firstLine = item.sql.split('\n', 1)[0] ?? '';
  parts.push(`statement: ${firstLine.length > 200 ? `${firstLine.slice(0, 200)}…` : firstLine}`);
  return { text: parts.join('; '), ...(e.code ? { code: e.code } : {}) };
}

/** The database a DROP/CREATE DATABASE (or any statement naming DATABASE x) is about, if any. */
function databaseNamed(words: Word[]): { verb: string; name: string } | null {
  const plain = (w: Word | undefined, value: string): boolean => w !== undefined && !w.quoted && w.value === value;
  const first = words[0];
  for (let k = 0; k < words.length; k++) {
    if (!plain(words[k], 'database')) continue;
    let j = k + 1;
    if (plain(first, 'drop') && plain(words[j], 'if') && plain(words[j + 1], 'exists')) j += 2;
    const name = words[j];
    if (name) return { verb: first && !first.quoted ? first.value : '', name: name.value };
  }
  return null;
}

class Session {
  private client: pg.Client | null = null;

  constructor(
    private readonly source: string,
    private url: string,
  ) {}

  async use(line: number): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.url });
    // an error while idle (server gone) must not crash the process; the next query rejects anyway
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SET client_min_messages = warning');
    } catch (err) {
      await client.end().catch(() => undefined);
      const db = decodeURIComponent(new URL(this.url).pathname.slice(1));
      throw new LoadSqlError(
        this.source,
        line,
        `could not connect to database "${db}": ${(err as Error).message}`,
        (err as PgServerError).code,
        {
          cause: err,
        },
      );
    }
    this.client = client;
    return client;
  }

  async connectTo(database: string, line: number): Promise<void> {
    await this.close();
    this.url = withDatabase(this.url, database);
    await this.use(line); // connect now, as psql's \c does: a bad name fails on its own line
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }
}

/** Run a psql script's text against the database of `url` (see the module comment for what is supported). */
export async function loadSqlText(url: string, text: string, options: LoadSqlOptions = {}): Promise<void> {
  const source = options.source ?? '<sql text>';
  const renames = new Map(Object.entries(options.databaseRenames ?? {}));
  const items = scan(text, source);
  const session = new Session(source, url);
  try {
    for (const { item, words } of items) {
      if (item.kind === 'meta') {
        if (item.command === 'c' || item.command === 'connect') {
          const target = connectTarget(item.args);
          if (target === null) {
            throw new LoadSqlError(
              source,
              item.line,
              `unsupported form of ${item.text}: only "\\c DATABASE" is supported`,
            );
          }
          await session.connectTo(renames.get(target) ?? target, item.line);
        } else if (!IGNORED_META.has(item.command)) {
          throw new LoadSqlError(source, item.line, `unsupported psql meta-command: ${item.text}`);
        }
        continue;
      }

      if (item.kind === 'sql' && renames.size > 0) {
        const named = databaseNamed(words);
        if (named && renames.has(named.name)) {
          if (named.verb === 'drop' || named.verb === 'create') continue; // the caller provides the database
          throw new LoadSqlError(
            source,
            item.line,
            `statement names renamed database "${named.name}", which this loader does not rewrite: ${item.sql.split('\n', 1)[0] ?? ''}`,
          );
        }
      }

      const client = await session.use(item.line);
      try {
        if (item.kind === 'copy') {
          const stream = client.query(copyFrom(item.sql));
          stream.end(Buffer.from(item.data, 'utf8'));
          await finished(stream);
        } else {
          await client.query(item.sql);
        }
      } catch (err) {
        const { text: detail, code } = describeServerError(err, item, item.kind === 'copy' ? item.dataLine : undefined);
        throw new LoadSqlError(source, item.line, detail, code, { cause: err });
      }
    }
  } finally {
    await session.close();
  }
}

/** Run a psql script file (UTF-8) against the database of `url`; errors name `file` and the line. */
export async function loadSqlFile(url: string, file: string, options: LoadSqlOptions = {}): Promise<void> {
  const bytes = await readFile(file);
  let text: string;
  try {
    // fatal: a byte that is not UTF-8 must fail here, not be replaced (the COPY data must stay exact)
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new Error(`${file}: not valid UTF-8 (${(err as Error).message})`, { cause: err });
  }
  await loadSqlText(url, text, { ...options, source: options.source ?? file });
}
