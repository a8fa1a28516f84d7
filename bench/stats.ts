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

/** One point of the latency plot: seconds since the operation started (bucket end), the longest wait in that bucket. */
export interface SeriesPoint {
  s: number;
  maxMs: number;
}

/**
 * The latency plot's series: for each `bucketMs` of [start, end], the longest any statement in
 * flight during it had been waiting by the bucket's end (or by its own end). A statement blocked
 * for seconds so shows as a ramp over the whole time it waited, not as one point when it ended.
 */
export function waitPerBucket(samples: Timed[], start: number, end: number, bucketMs: number): SeriesPoint[] {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    const began = s.t - s.ms;
    if (s.t < start || began > end) continue;
    const first = Math.max(0, Math.floor((began - start) / bucketMs));
    const last = Math.floor((Math.min(s.t, end) - start) / bucketMs);
    for (let b = first; b <= last; b++) {
      const waited = Math.min(s.t, start + (b + 1) * bucketMs) - began;
      buckets.set(b, Math.max(buckets.get(b) ?? 0, waited));
    }
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([b, maxMs]) => ({ s: ((b + 1) * bucketMs) / 1000, maxMs }));
}

/** How many failed samples overlapped [start, end]. */
export function failedOverlapping(samples: (Timed & { ok: boolean })[], start: number, end: number): number {
  return samples.filter((s) => !s.ok && overlaps(s, start, end)).length;
}
