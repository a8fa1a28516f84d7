/**
 * Pure arithmetic over latency samples, shared by the writer's trace and pgbench's
 * per-transaction log: percentiles, the longest stall in a window, and the downsampled series
 * the latency plot draws.
 */

/** The p-th percentile (0..100) of `values` by nearest rank; 0 for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** A statement or transaction: when it ended (epoch ms) and how long it took (ms). */
export interface Timed {
  t: number;
  ms: number;
}

/** Whether it ran at some moment of [start, end] (epoch ms): it ended after start and began before end. */
export function overlaps(s: Timed, start: number, end: number): boolean {
  return s.t >= start && s.t - s.ms <= end;
}

/**
 * The longest sample that overlapped [start, end]: how long the application waited at worst
 * during that window. A statement blocked by a lock taken in the window counts with its whole
 * wait, even if it ended after the window closed.
 */
export function longestOverlapping(samples: Timed[], start: number, end: number): number {
  let max = 0;
  for (const s of samples) if (overlaps(s, start, end) && s.ms > max) max = s.ms;
  return max;
}

/** One point of the latency plot: seconds since the operation started, the longest sample ending in that bucket. */
export interface SeriesPoint {
  s: number;
  maxMs: number;
}

/** The samples ending in [start, end] as the longest one per `bucketMs`, x in seconds since `start`. */
export function maxPerBucket(samples: Timed[], start: number, end: number, bucketMs: number): SeriesPoint[] {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.t < start || s.t > end) continue;
    const b = Math.floor((s.t - start) / bucketMs);
    buckets.set(b, Math.max(buckets.get(b) ?? 0, s.ms));
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([b, maxMs]) => ({ s: ((b + 1) * bucketMs) / 1000, maxMs }));
}

/** How many failed samples overlapped [start, end]. */
export function failedOverlapping(samples: (Timed & { ok: boolean })[], start: number, end: number): number {
  return samples.filter((s) => !s.ok && overlaps(s, start, end)).length;
}
