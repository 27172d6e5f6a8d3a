/** Small numeric helpers for the benchmark's summaries. */

export type Interval = [number, number];

/** Nearest-rank percentile of `xs` (p in 0..100); NaN for an empty list. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function summary(xs: number[]): { p50: number; p95: number; min: number; max: number; n: number } {
  return {
    p50: percentile(xs, 50),
    p95: percentile(xs, 95),
    min: xs.length ? Math.min(...xs) : NaN,
    max: xs.length ? Math.max(...xs) : NaN,
    n: xs.length,
  };
}

/** Intervals merged where they overlap, each clipped to [from, to]. */
export function union(intervals: Interval[], from = -Infinity, to = Infinity): Interval[] {
  const clipped = intervals
    .map(([a, b]): Interval => [Math.max(a, from), Math.min(b, to)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const out: Interval[] = [];
  for (const [a, b] of clipped) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

export const length = (intervals: Interval[]): number => intervals.reduce((s, [a, b]) => s + (b - a), 0);

/** Total length of `a` not covered by `b` (both merged). */
export function minus(a: Interval[], b: Interval[]): number {
  let covered = 0;
  for (const [x, y] of a) for (const [u, v] of b) covered += Math.max(0, Math.min(y, v) - Math.max(x, u));
  return length(a) - covered;
}

export const round = (x: number, digits = 0): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
