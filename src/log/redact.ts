/**
 * The one place that keeps secrets out of output. Two layers:
 *  1. redactUrl(): structural, for URLs we knowingly print (doctor, plans, state rows).
 *  2. scrub(): a last line of defence applied to every byte pgshift writes (logs, errors, JSON): it masks the
 *     password part of any URL-looking text and every secret value registered at run time (passwords read from
 *     config or the environment, in raw and percent-encoded forms).
 */
const MASK = '***';
const secrets = new Set<string>();

/** Remember a secret so that scrub() masks it wherever it appears. Short values are ignored (they would mask noise). */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < 4) return;
  secrets.add(value);
  try {
    const decoded = decodeURIComponent(value);
    if (decoded.length >= 4) secrets.add(decoded);
  } catch {
    // not percent-encoded: nothing more to add
  }
  secrets.add(encodeURIComponent(value));
}

/** For tests only: forget registered secrets. */
export function clearSecrets(): void {
  secrets.clear();
}

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi;
const KEYWORD_PASSWORD = /\b(password|sslpassword|pass|pwd)\s*=\s*('[^']*'|"[^"]*"|[^\s&;]+)/gi;

/** Mask credentials in any text. */
export function scrub(text: string): string {
  let out = text.replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`);
  out = out.replace(KEYWORD_PASSWORD, (_m, key: string) => `${key}=${MASK}`);
  // longest first, so that a secret containing another is masked whole
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
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

/** A URL with its password replaced by *** and secret query parameters masked. Unparseable input is scrubbed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = MASK;
    for (const key of ['password', 'sslpassword']) if (u.searchParams.has(key)) u.searchParams.set(key, MASK);
    return u.toString().replace(`:${encodeURIComponent(MASK)}@`, `:${MASK}@`).replace(/%2A%2A%2A/g, MASK);
  } catch {
    return scrub(url);
  }
}
