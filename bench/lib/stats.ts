/** Small statistics helpers shared by the load generators and the report. */

/** Nearest-rank percentile of an ascending-sorted array (NaN when empty). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** p50/p99/max/mean of samples (ms), sorting a copy. */
export function summarize(samples: readonly number[]): { p50: number; p99: number; max: number; mean: number } {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** `a / b` as "1.08x", or "-" when either side is missing. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "-";
  return `${(a / b).toFixed(2)}x`;
}

/** `a - b` in ms as "+0.41", or "-" when either side is missing. */
export function delta(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) return "-";
  const d = a - b;
  return `${d >= 0 ? "+" : ""}${d.toFixed(Math.abs(d) >= 100 ? 0 : 2)}`;
}

/** A millisecond figure with sensible precision. */
export function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "-";
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
