/** `7s`, `2m 05s`, `1h 02m`: a duration as a release engineer reads it in a migration window. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A count as the views print it (`20,000`). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
