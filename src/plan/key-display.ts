const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);

/** Only a single integer key is shown (other keys may be patient data: an MRN, an e-mail, a birth date). */
export function keyIsDisplayable(key: ReadonlyArray<{ readonly type: string }> | null): boolean {
  return key !== null && key.length === 1 && INTEGER_TYPES.has(key[0]?.type ?? '');
}

/** `id in (100, 200]` for an integer key, else `after N rows`. */
export function displayKey(
  key: ReadonlyArray<{ readonly name: string; readonly type: string }> | null,
  lo: readonly string[] | null,
  hi: readonly string[] | null,
  rowsBefore: number,
): string {
  if (keyIsDisplayable(key)) return `${key?.[0]?.name} in (${lo?.[0] ?? 'start'}, ${hi?.[0] ?? 'end'}]`;
  return `after ${rowsBefore.toLocaleString('en-US')} rows`;
}
