const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `60s`, `5m`, `2h` into milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^([0-9]+)(ms|s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (UNITS[m[2] as string] as number);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** Parses `500MB`, `10GB` (units of 1024, as PostgreSQL's memory settings) into bytes; undefined when not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^([0-9]+)(B|kB|MB|GB|TB)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (SIZE_UNITS[m[2] as string] as number);
}
