/**
 * Cross-major normalisation of view definitions.
 *
 * Up to PostgreSQL 15 a view's stored query had two extra range-table entries (OLD and NEW), so pg_get_viewdef
 * qualified every column of the top-level query (`SELECT t.a FROM s.t`). From 16 on those entries are gone and a
 * top-level query that reads exactly one relation prints its columns bare (`SELECT a FROM s.t`). Sub-queries,
 * joins, several FROM items and set operations print the same on both.
 *
 * normalizeViewDefinitionPre16() rewrites a pre-16 deparse into the 16+ form: when the top-level SELECT has exactly
 * one FROM item that is not a join, it removes `refname.` before column references of that level (never inside a
 * sub-SELECT, never before `*`, never in a type, collation or function name). Anything it does not recognise is
 * left unchanged (a false difference, never a false match).
 */

interface Token {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly kind: 'ident' | 'quoted' | 'string' | 'number' | 'punct' | 'op';
}

const IDENT_START = /[A-Za-z_\u0080-\uFFFF]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uFFFF]/;
const OP_CHARS = '+-*/<>=~!@#%^&|`?';

function tokenize(sql: string): Token[] | null {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === "'" || ((ch === 'E' || ch === 'e') && sql[i + 1] === "'")) {
      const escapes = ch !== "'";
      i += escapes ? 2 : 1;
      for (;;) {
        if (i >= sql.length) return null;
        const c = sql[i];
        if (escapes && c === '\\') i += 2;
        else if (c === "'" && sql[i + 1] === "'") i += 2;
        else if (c === "'") {
          i++;
          break;
        } else i++;
      }
      out.push({ text: sql.slice(start, i), start, end: i, kind: 'string' });
    } else if (ch === '"') {
      i++;
      for (;;) {
        if (i >= sql.length) return null;
        if (sql[i] === '"' && sql[i + 1] === '"') i += 2;
        else if (sql[i] === '"') {
          i++;
          break;
        } else i++;
      }
      out.push({ text: sql.slice(start, i), start, end: i, kind: 'quoted' });
    } else if (ch === '$' && /[A-Za-z_$]/.test(sql[i + 1] ?? '')) {
      // dollar quoting ($tag$...$tag$ or $$...$$): not produced by ruleutils; refuse rather than guess
      return null;
    } else if (IDENT_START.test(ch)) {
      while (i < sql.length && IDENT_PART.test(sql[i] as string)) i++;
      out.push({ text: sql.slice(start, i), start, end: i, kind: 'ident' });
    } else if (/[0-9]/.test(ch)) {
      while (i < sql.length && /[0-9.eE]/.test(sql[i] as string)) i++;
      out.push({ text: sql.slice(start, i), start, end: i, kind: 'number' });
    } else if (ch === ':' && sql[i + 1] === ':') {
      i += 2;
      out.push({ text: '::', start, end: i, kind: 'punct' });
    } else if ('(),.[];:'.includes(ch)) {
      i++;
      out.push({ text: ch, start, end: i, kind: 'punct' });
    } else if (OP_CHARS.includes(ch)) {
      while (i < sql.length && OP_CHARS.includes(sql[i] as string)) i++;
      out.push({ text: sql.slice(start, i), start, end: i, kind: 'op' });
    } else {
      return null;
    }
  }
  return out;
}

const kw = (t: Token | undefined, ...words: string[]): boolean =>
  t?.kind === 'ident' && words.includes(t.text.toUpperCase());
const isName = (t: Token | undefined): boolean => t?.kind === 'ident' || t?.kind === 'quoted';
const SUBQUERY_START = ['SELECT', 'VALUES', 'WITH', 'TABLE'];
const FROM_END = ['WHERE', 'GROUP', 'HAVING', 'WINDOW', 'ORDER', 'LIMIT', 'OFFSET', 'FETCH', 'FOR'];
const SET_OPS = ['UNION', 'INTERSECT', 'EXCEPT'];
const JOINS = ['JOIN', 'CROSS', 'NATURAL', 'INNER', 'LEFT', 'RIGHT', 'FULL'];

/** For each token index, the index of the matching ')' (for '(' tokens); null when unbalanced. */
function matchParens(tokens: readonly Token[]): Map<number, number> | null {
  const stack: number[] = [];
  const match = new Map<number, number>();
  tokens.forEach((t, i) => {
    if (t.text === '(' && t.kind === 'punct') stack.push(i);
    else if (t.text === ')' && t.kind === 'punct') {
      const open = stack.pop();
      if (open !== undefined) match.set(open, i);
      else stack.push(-1);
    }
  });
  return stack.length === 0 ? match : null;
}

export function normalizeViewDefinitionPre16(def: string): string {
  const tokens = tokenize(def);
  if (!tokens || tokens.length === 0) return def;
  const parens = matchParens(tokens);
  if (!parens) return def;
  const skip = (i: number): number =>
    tokens[i]?.text === '(' && tokens[i]?.kind === 'punct' ? (parens.get(i) ?? i) + 1 : i + 1;

  // WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] ( ... ) [, ...]
  let i = 0;
  if (kw(tokens[0], 'WITH')) {
    i = 1;
    if (kw(tokens[i], 'RECURSIVE')) i++;
    for (;;) {
      if (!isName(tokens[i])) return def;
      i++;
      if (tokens[i]?.text === '(') i = skip(i);
      if (!kw(tokens[i], 'AS')) return def;
      i++;
      if (kw(tokens[i], 'NOT')) i++;
      if (kw(tokens[i], 'MATERIALIZED')) i++;
      if (tokens[i]?.text !== '(') return def;
      i = skip(i);
      if (tokens[i]?.text === ',') {
        i++;
        continue;
      }
      break;
    }
  }
  if (!kw(tokens[i], 'SELECT')) return def;
  const selectAt = i;

  // top-level tokens (depth 0) from the SELECT on
  const top: number[] = [];
  for (let j = selectAt; j < tokens.length; j = skip(j)) top.push(j);
  if (top.some((j) => kw(tokens[j], ...SET_OPS))) return def;
  const fromPos = top.findIndex((j) => kw(tokens[j], 'FROM'));
  if (fromPos < 0) return def; // no FROM: no column references to strip
  let endPos = top.findIndex((j, k) => k > fromPos && kw(tokens[j], ...FROM_END));
  if (endPos < 0) endPos = top.length;
  const item = top.slice(fromPos + 1, endPos);
  if (item.length === 0 || item.some((j) => tokens[j]?.text === ',' || kw(tokens[j], ...JOINS))) return def;

  // the refname of the single FROM item
  let k = 0;
  const at = (n: number): Token | undefined => tokens[item[n] ?? -1];
  if (kw(at(k), 'ONLY', 'LATERAL')) k++;
  let refname: string | undefined;
  if (at(k)?.text === '(') {
    const inner = tokens[(item[k] ?? 0) + 1];
    if (!kw(inner, ...SUBQUERY_START)) return def; // a parenthesised join
    k++;
    if (kw(at(k), 'AS')) k++;
    if (!isName(at(k))) return def;
    refname = at(k)?.text;
  } else if (isName(at(k))) {
    if (kw(at(k), 'ROWS', 'XMLTABLE', 'JSON_TABLE')) return def;
    let last = at(k)?.text;
    k++;
    while (at(k)?.text === '.' && isName(at(k + 1))) {
      last = at(k + 1)?.text;
      k += 2;
    }
    if (at(k)?.text === '(') {
      k++; // a function in FROM: only its alias names it
      if (kw(at(k), 'WITH') && kw(at(k + 1), 'ORDINALITY')) k += 2;
      if (kw(at(k), 'AS')) k++;
      if (!isName(at(k)) || kw(at(k), 'TABLESAMPLE')) return def;
      refname = at(k)?.text;
    } else {
      if (kw(at(k), 'AS')) k++;
      refname = isName(at(k)) && !kw(at(k), 'TABLESAMPLE') ? at(k)?.text : last;
    }
  } else {
    return def;
  }
  if (!refname) return def;

  // the FROM item's own tokens are left alone
  const fromStart = item[0] ?? 0;
  const lastItem = item[item.length - 1] ?? 0;
  const fromEnd = skip(lastItem);

  // which '(' open a sub-query scope
  const inSubquery = new Array<boolean>(tokens.length).fill(false);
  const scope: boolean[] = [false];
  for (let j = 0; j < tokens.length; j++) {
    const t = tokens[j] as Token;
    const cur = scope[scope.length - 1] ?? false;
    if (t.kind === 'punct' && t.text === '(') {
      inSubquery[j] = cur;
      scope.push(cur || kw(tokens[j + 1], ...SUBQUERY_START));
    } else if (t.kind === 'punct' && t.text === ')') {
      scope.pop();
      inSubquery[j] = scope[scope.length - 1] ?? false;
    } else inSubquery[j] = cur;
  }

  const cuts: [number, number][] = [];
  for (let j = selectAt; j < tokens.length - 2; j++) {
    if (j >= fromStart && j < fromEnd) continue;
    const t = tokens[j] as Token;
    if (inSubquery[j] || !isName(t) || t.text !== refname) continue;
    const dot = tokens[j + 1];
    const col = tokens[j + 2];
    if (dot?.text !== '.' || dot.kind !== 'punct' || !isName(col)) continue;
    const prev = tokens[j - 1];
    if (prev && (prev.text === '::' || prev.text === '.' || kw(prev, 'AS', 'COLLATE'))) continue;
    const next = tokens[j + 3];
    if (next && ((next.text === '(' && next.kind === 'punct') || (next.text === '.' && next.kind === 'punct')))
      continue;
    cuts.push([t.start, dot.end]);
  }
  if (cuts.length === 0) return def;
  let out = '';
  let pos = 0;
  for (const [s, e] of cuts) {
    out += def.slice(pos, s);
    pos = e;
  }
  return out + def.slice(pos);
}
