/**
 * The hashes pgshift records: canonical JSON and sha256, for the audit chain (./audit.ts) and the config and plan
 * hashes that plans and runs carry. A stored hash must never change meaning: keep both functions as they are.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
