/**
 * The parts of a backfill that runs on several connections at once (backfill.workers > 1).
 * Each part is a range of keys (keyset order) or of pages (physical order) that one worker walks
 * batch after batch, as the one-worker backfill walks the whole table; the checkpoint keeps
 * every part's progress, so a resumed run goes on where each part stopped. Pure: the split
 * points come from a sample of the keys that run.ts reads.
 */

/** One part's progress: keys (lastKey, upperKey] in keyset order, pages [page, end) in physical order. */
export interface PartCheckpoint {
  lastKey?: string[] | null;
  upperKey?: string[] | null;
  page?: number;
  end?: number;
  done: boolean;
  /** The part's adaptive batch size reached, so a resumed run starts there. */
  batchSize?: number;
}

/** The checkpoint fields the parts are split from and collapsed back into. */
export interface SplittableCheckpoint {
  lastKey: string[] | null;
  upperKey: string[] | null;
  page?: number;
  pages?: number;
  done: boolean;
  batchSize?: number;
  ranges?: PartCheckpoint[];
}

/** Whether two keys as the checkpoint keeps them (arrays of the key columns as text) are the same key. */
export function sameKey(a: string[] | null | undefined, b: string[] | null | undefined): boolean {
  return a != null && b != null && a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * The keys that end every part but the last, from a sample of the keys still to do, sorted in
 * the key's order: at most `parts - 1` of them, evenly spaced in the sample, none twice. Fewer
 * sampled keys make fewer parts (a small table may be one part).
 */
export function splitPoints(sample: string[][], parts: number): string[][] {
  const points: string[][] = [];
  for (let i = 1; i < parts; i++) {
    const key = sample[Math.floor((i * sample.length) / parts)];
    if (key === undefined) continue;
    const last = points[points.length - 1];
    if (!sameKey(last, key)) points.push(key);
  }
  return points;
}

/** The keyset parts of (lastKey, upperKey]: each ends at a split point, the last at upperKey. */
export function keysetParts(cp: SplittableCheckpoint, points: string[][]): PartCheckpoint[] {
  const ends = [...points, cp.upperKey];
  return ends.map((upperKey, i) => ({ lastKey: i === 0 ? cp.lastKey : points[i - 1], upperKey, done: false }));
}

/** The physical parts of the pages [page, pages): `parts` runs of about as many pages each. */
export function physicalParts(cp: SplittableCheckpoint, parts: number): PartCheckpoint[] {
  const from = cp.page ?? 0;
  const to = cp.pages ?? 0;
  const n = Math.max(1, Math.min(parts, to - from));
  return Array.from({ length: n }, (_, i) => ({
    page: from + Math.floor(((to - from) * i) / n),
    end: from + Math.floor(((to - from) * (i + 1)) / n),
    done: false,
  }));
}

/**
 * The one-worker checkpoint a split one comes back to (for the in-database runner, which walks
 * one range): everything up to the first part not done counts as done, and the rest is walked
 * again from there. Rows of later parts already filled are scanned again and skipped (their
 * shadow is equal), so nothing is missed; only the work is repeated.
 */
export function collapseParts<C extends SplittableCheckpoint>(cp: C): C {
  if (!cp.ranges) return cp;
  const { ranges, ...rest } = cp;
  const first = ranges.find((r) => !r.done);
  if (!first) return { ...rest, done: true } as C;
  if (first.end !== undefined) return { ...rest, page: first.page } as C;
  return { ...rest, lastKey: first.lastKey ?? null } as C;
}
