/**
 * The one place that keeps secrets out of output. Two layers:
 *  1. redactUrl(): structural, for URLs we knowingly print (doctor, plans, state rows).
 *  2. scrub(): a last line of defence applied to every byte pgshift writes (logs, errors, JSON). It first masks every
 *     secret registered at run time (the passwords of the configured URLs, as written, decoded and percent-encoded),
 *     then the password part of any URL-looking text, then `password=...` keywords.
 * A password may hold a raw `@`, `:` or `%` (pasted unencoded): it is masked whole, never in part.
 */
const MASK = '***';
const secrets = new Set<string>();

/**
 * Secrets shorter than this are masked where they stand as a whole token (not inside a longer word or number), so a
 * 3-character password does not turn every word that contains its letters into ***; longer ones are masked wherever
 * they appear. A token boundary is the start or end of the text, any character that is not a letter or digit, or a
 * percent-escape (`%40abc%3A` still masks `abc`).
 */
const WHOLE_TOKEN_BELOW = 8;

/**
 * Percent-decoding as a user means it: valid %XX sequences are decoded, a `%` that starts none is kept as written
 * (a password pasted unencoded, `p@ss:w%rd`, still connects and is still recognised).
 */
export function decodeLenient(text: string): string {
  return text.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/** The WHATWG user-info encoding (what `new URL()` and `url.password = ...` produce). */
function userinfoEncoded(value: string): string | undefined {
  try {
    const u = new URL('postgres://h');
    u.password = value;
    return u.password;
  } catch {
    return undefined;
  }
}

/** Every spelling of a secret that output may carry: as written, decoded, and percent-encoded (either hex case). */
function spellings(value: string): string[] {
  const out = new Set<string>();
  for (const v of [value, decodeLenient(value)]) {
    out.add(v);
    for (const enc of [encodeURIComponent(v), userinfoEncoded(v)]) {
      if (enc === undefined) continue;
      out.add(enc);
      out.add(enc.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()));
    }
  }
  return [...out].filter((s) => s.length > 0);
}

/** Remember a secret so that scrub() masks it wherever it appears, in every spelling. Short values too. */
export function registerSecret(value: string | undefined | null): void {
  if (!value) return;
  for (const s of spellings(value)) secrets.add(s);
}

/**
 * Registers the password of a URL without needing the URL to be valid: the user info ends at the LAST `@` (a raw `@`
 * in the password is common), and, as WHATWG URL reads it, at the last `@` before the first `/`, `?` or `#`. Both
 * readings are registered (masking more is safe), plus a `password=` query parameter.
 */
export function registerUrlSecrets(url: string | undefined | null): void {
  if (!url) return;
  const m = /^[a-z][a-z0-9+.-]*:\/\/(.*)$/is.exec(url.trim());
  if (!m) return;
  const rest = m[1] ?? '';
  const candidates = [rest.slice(0, Math.max(0, rest.lastIndexOf('@')))];
  const authority = rest.split(/[/?#]/)[0] ?? '';
  candidates.push(authority.slice(0, Math.max(0, authority.lastIndexOf('@'))));
  for (const userinfo of candidates) {
    const colon = userinfo.indexOf(':');
    if (colon >= 0) registerSecret(userinfo.slice(colon + 1));
  }
  for (const q of url.matchAll(/[?&](?:password|sslpassword)=([^&#\s]*)/gi)) registerSecret(q[1]);
}

/** For tests only: forget registered secrets. */
export function clearSecrets(): void {
  secrets.clear();
  tokenPatterns.clear();
}

const WORD = /[\p{L}\p{N}]/u;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const tokenPatterns = new Map<string, RegExp>();

/** A short secret as a whole token: not glued to a letter or digit on a side where it starts or ends with one. */
function tokenPattern(secret: string): RegExp {
  const known = tokenPatterns.get(secret);
  if (known) return known;
  const before = WORD.test(secret[0] ?? '') ? '(?<=^|[^\\p{L}\\p{N}]|%[0-9A-Fa-f]{2})' : '';
  const after = WORD.test(secret[secret.length - 1] ?? '') ? '(?=$|[^\\p{L}\\p{N}]|%[0-9A-Fa-f]{2})' : '';
  const re = new RegExp(`${before}${escapeRegExp(secret)}${after}`, 'gu');
  tokenPatterns.set(secret, re);
  return re;
}

/**
 * scheme://user:password@ — the password runs to the LAST @ of the token (it may hold raw @ and :), a token ending at
 * white space, a quote or an angle bracket. Masking a little too much in an odd text is the safe side.
 */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:"'<>`]*):([^\s"'<>`]*)@/gi;
const KEYWORD_PASSWORD = /\b(password|sslpassword|pass|pwd)\s*=\s*('[^']*'|"[^"]*"|[^\s&;]+)/gi;

/** Mask credentials in any text. */
export function scrub(text: string): string {
  let out = text;
  // registered secrets first (longest first, so that a secret containing another is masked whole): the URL pattern
  // below cannot know where a password with a raw @ ends, a registered secret can
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (!out.includes(secret)) continue;
    out = secret.length >= WHOLE_TOKEN_BELOW ? out.split(secret).join(MASK) : out.replace(tokenPattern(secret), MASK);
  }
  out = out.replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`);
  out = out.replace(KEYWORD_PASSWORD, (_m, key: string) => `${key}=${MASK}`);
  return out;
}

/** scrub() applied to every string inside a JSON-like value. */
export function scrubDeep<T>(value: T): T {
  if (typeof value === 'string') return scrub(value) as T;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = scrubDeep(v);
    return out as T;
  }
  return value;
}

/**
 * A URL with its password replaced by *** and secret query parameters masked; the password is registered too, so
 * that no later output carries it. The result is scrubbed as well (a password with a raw `/` can fool the parser).
 */
export function redactUrl(url: string): string {
  registerUrlSecrets(url);
  try {
    const u = new URL(url);
    if (u.password) u.password = MASK;
    for (const key of ['password', 'sslpassword']) if (u.searchParams.has(key)) u.searchParams.set(key, MASK);
    return scrub(
      u
        .toString()
        .replace(`:${encodeURIComponent(MASK)}@`, `:${MASK}@`)
        .replace(/%2A%2A%2A/g, MASK),
    );
  } catch {
    return scrub(url);
  }
}
