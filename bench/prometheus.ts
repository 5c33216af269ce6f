/** Sums the samples of one metric in Prometheus text output whose labels contain every `match` pair. */
export function metricValue(text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const labels = line.slice(name.length).match(/^\{([^}]*)\}/)?.[1] ?? '';
    if (!Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Request counts by `verb resource` from sdc_api_requests_total. */
export function requestCounts(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^sdc_api_requests_total\{verb="([^"]+)",resource="([^"]+)",code="[^"]+"\} (\d+)/gm)) {
    const key = `${m[1]} ${m[2]}`;
    counts[key] = (counts[key] ?? 0) + Number(m[3]);
  }
  return counts;
}

export function diffCounts(after: Record<string, number>, before: Record<string, number>, per = 1): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = Math.round((d / per) * 100) / 100;
  }
  return out;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
