import { quoteIdent, quoteIdentLikeServer } from '../db/ident.js';

/**
 * Rewrites the schema part of schema-qualified names in SQL text, token by token, the way the server reads it:
 *
 * - string literals ('...', E'...' with backslash escapes, U&'...') and comments (-- and nested /* *\/) are copied
 *   untouched, so a literal or a comment that spells `public.uuid_generate_v4()` is never changed;
 * - dollar-quoted text ($$...$$, $body$...$body$) is rewritten recursively: in what the server's deparse functions
 *   print, dollar quotes only ever hold routine bodies (constants come out as '...'), and a body is code;
 * - identifiers are compared as the server resolves them: unquoted ones case-folded to lower case, quoted ones
 *   ("we""ird", "a.b") exactly, with their quotes and doubled quotes undone;
 * - `schema.name` and `schema.name.more` chains (whitespace around the dots allowed) ask `rule(schema, name)`,
 *   and so does a qualified operator, `OPERATOR(schema.->)`;
 *   a bare identifier right after the keyword SCHEMA asks `rule(schema, null)`.
 *
 * `rule` returns the new schema or null to leave the reference as it is. The new name keeps the old one's style: a
 * quoted name is written back quoted (quoteIdent), an unquoted one the way the server would print it
 * (quoteIdentLikeServer), so rewritten deparse output reads like the target server's own.
 * Everything else in the text is kept byte for byte.
 */
export type SchemaRule = (schema: string, name: string | null) => string | null;

export interface Rewrite {
  /** `schema.name` as it was resolved (unquoted), e.g. `public.uuid_generate_v4` */
  readonly from: string;
  /** `schema.name` as it now reads, e.g. `extensions.uuid_generate_v4` */
  readonly to: string;
}

export interface RewriteResult {
  readonly sql: string;
  readonly rewrites: readonly Rewrite[];
}

interface Ident {
  readonly start: number;
  readonly end: number;
  readonly value: string;
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const REG_CAST =
  /^\s*::\s*(?:pg_catalog\.)?"?(?:regclass|regproc|regprocedure|regtype|regoper|regoperator|regconfig|regdictionary|regnamespace|regcollation)\b"?/i;
const OPERATOR_NAME = /^[+\-*/<>=~!@#%^&|`?]+/;
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

class Scanner {
  constructor(
    readonly text: string,
    public pos = 0,
  ) {}

  at(offset = 0): string {
    return this.text[this.pos + offset] ?? '';
  }

  /** Skips spaces and comments; returns true if anything was skipped. */
  skipBlank(): boolean {
    const from = this.pos;
    for (;;) {
      const c = this.at();
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') this.pos++;
      else if (c === '-' && this.at(1) === '-') this.skipLineComment();
      else if (c === '/' && this.at(1) === '*') this.skipBlockComment();
      else break;
    }
    return this.pos > from;
  }

  skipLineComment(): void {
    const nl = this.text.indexOf('\n', this.pos);
    this.pos = nl < 0 ? this.text.length : nl + 1;
  }

  /** Block comments nest in PostgreSQL. */
  skipBlockComment(): void {
    let depth = 0;
    while (this.pos < this.text.length) {
      if (this.at() === '/' && this.at(1) === '*') {
        depth++;
        this.pos += 2;
      } else if (this.at() === '*' && this.at(1) === '/') {
        depth--;
        this.pos += 2;
        if (depth === 0) return;
      } else this.pos++;
    }
  }

  /** At a quote: skips '...' ('' doubled); with backslashes true, \x escapes too (E'...'). */
  skipString(backslashes: boolean): void {
    this.pos++;
    while (this.pos < this.text.length) {
      const c = this.at();
      if (backslashes && c === '\\') this.pos += 2;
      else if (c === "'" && this.at(1) === "'") this.pos += 2;
      else if (c === "'") {
        this.pos++;
        return;
      } else this.pos++;
    }
  }

  /** An identifier at pos (quoted or not), or null. Moves past it. */
  ident(): Ident | null {
    const start = this.pos;
    const c = this.at();
    if (c === '"') {
      let value = '';
      this.pos++;
      while (this.pos < this.text.length) {
        if (this.at() === '"' && this.at(1) === '"') {
          value += '"';
          this.pos += 2;
        } else if (this.at() === '"') {
          this.pos++;
          return { start, end: this.pos, value };
        } else {
          value += this.at();
          this.pos++;
        }
      }
      return { start, end: this.pos, value };
    }
    if (!IDENT_START.test(c)) return null;
    while (this.pos < this.text.length && IDENT_PART.test(this.at())) this.pos++;
    return { start, end: this.pos, value: this.text.slice(start, this.pos).toLowerCase() };
  }
}

/** Rewrites the schema part of qualified names in `sql` as `rule` says (see the module comment). */
export function rewriteSchemaRefs(sql: string, rule: SchemaRule): RewriteResult {
  const rewrites: Rewrite[] = [];
  const out = rewriteText(sql, rule, rewrites);
  return { sql: out, rewrites };
}

function rewriteText(text: string, rule: SchemaRule, rewrites: Rewrite[]): string {
  const s = new Scanner(text);
  let out = '';
  let copied = 0;
  /** after the keyword SCHEMA (and IF [NOT] EXISTS): the next identifier names a schema */
  let schemaNext = false;
  const replace = (id: Ident, schema: string, name: string | null): void => {
    const to = rule(schema, name);
    if (to === null || to === schema) return;
    out += text.slice(copied, id.start) + (text[id.start] === '"' ? quoteIdent(to) : quoteIdentLikeServer(to));
    copied = id.end;
    rewrites.push({ from: name === null ? schema : `${schema}.${name}`, to: name === null ? to : `${to}.${name}` });
  };

  while (s.pos < text.length) {
    const c = s.at();
    if (s.skipBlank()) continue;
    // string literals: E'..' / e'..' (backslash escapes), U&'..', B'..', X'..', N'..' and plain '..'
    if ((c === 'E' || c === 'e') && s.at(1) === "'") {
      s.pos++;
      s.skipString(true);
      schemaNext = false;
      continue;
    }
    if ((c === 'U' || c === 'u') && s.at(1) === '&' && s.at(2) === "'") {
      s.pos += 2;
      s.skipString(false);
      schemaNext = false;
      continue;
    }
    if (c === "'") {
      const start = s.pos;
      s.skipString(false);
      schemaNext = false;
      // 'schema.name'::regclass (nextval defaults, ...): the literal names an object
      const cast = REG_CAST.exec(text.slice(s.pos, s.pos + 64));
      if (cast && text[s.pos - 1] === "'") {
        const inner = text.slice(start + 1, s.pos - 1).replace(/''/g, "'");
        const renamed = rewriteText(inner, rule, rewrites);
        if (renamed !== inner) {
          out += text.slice(copied, start) + `'${renamed.replace(/'/g, "''")}'`;
          copied = s.pos;
        }
      }
      continue;
    }
    if (c === '$') {
      const tag = DOLLAR_TAG.exec(text.slice(s.pos, s.pos + 256))?.[0];
      if (tag) {
        const bodyStart = s.pos + tag.length;
        const close = text.indexOf(tag, bodyStart);
        const bodyEnd = close < 0 ? text.length : close;
        const body = text.slice(bodyStart, bodyEnd);
        const rewritten = rewriteText(body, rule, rewrites);
        if (rewritten !== body) {
          out += text.slice(copied, bodyStart) + rewritten;
          copied = bodyEnd;
        }
        s.pos = close < 0 ? text.length : close + tag.length;
        schemaNext = false;
        continue;
      }
      s.pos++; // $1 parameters and the like
      while (/[0-9]/.test(s.at())) s.pos++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      // numbers (1.5, 1e-3, 0x1F): a dot in them is no qualifier
      while (/[0-9A-Za-z_.]/.test(s.at()) || ((s.at() === '+' || s.at() === '-') && /[eE]/.test(text[s.pos - 1] ?? '')))
        s.pos++;
      schemaNext = false;
      continue;
    }
    if (c === '"' || IDENT_START.test(c)) {
      const first = s.ident() as Ident;
      // a chain a.b[.c...]: only the first two parts matter
      const afterFirst = s.pos;
      s.skipBlank();
      if (text[first.start] !== '"' && first.value === 'operator' && s.at() === '(') {
        // OPERATOR(schema.op), as the server prints a qualified operator (hstore's ->, pg_trgm's %, ...)
        s.pos++;
        s.skipBlank();
        const schema = s.ident();
        s.skipBlank();
        if (schema && s.at() === '.') {
          s.pos++;
          s.skipBlank();
          const op = OPERATOR_NAME.exec(text.slice(s.pos, s.pos + 64))?.[0];
          if (op) {
            s.pos += op.length;
            replace(schema, schema.value, op);
          }
        }
        schemaNext = false;
        continue;
      }
      let second: Ident | null = null;
      if (s.at() === '.' && s.at(1) !== '.') {
        s.pos++;
        s.skipBlank();
        second = s.ident();
      }
      if (second) {
        // not after a dot: this is the chain's head (a.b.c's `b.c` is never taken as schema.name)
        replace(first, first.value, second.value);
        for (;;) {
          const save = s.pos;
          s.skipBlank();
          if (s.at() === '.' && s.at(1) !== '.') {
            s.pos++;
            s.skipBlank();
            if (s.ident() || s.at() === '*') {
              if (s.at() === '*') s.pos++;
              continue;
            }
          }
          s.pos = save;
          break;
        }
        schemaNext = false;
        continue;
      }
      s.pos = afterFirst;
      const quoted = text[first.start] === '"';
      if (schemaNext && (quoted || !['if', 'not', 'exists'].includes(first.value))) {
        replace(first, first.value, null);
        schemaNext = false;
      } else if (!schemaNext) schemaNext = !quoted && first.value === 'schema';
      continue;
    }
    s.pos++;
    schemaNext = false;
  }
  return copied === 0 ? text : out + text.slice(copied);
}
