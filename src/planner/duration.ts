/** Parses Go-style durations such as 250ms, 10s, 5m, 1h, 1h30m into milliseconds. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`invalid duration "${text}" (use e.g. 500ms, 10s, 5m, 1h)`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}

/** A duration as people read it in a status line: 45s, 7m, 3h (rounded; seconds up to 2 minutes, minutes up to 2 hours). */
export function formatDuration(millis: number): string {
  const s = Math.max(0, Math.round(millis / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}
