/**
 * What the run's measurements add up to: the ratios the README quotes and the backfill's memory.
 * Computed once here so results.md, results.json and the terminal all show the same numbers.
 */
import type { Measurement } from "./measure";

export interface RunSummary {
  /** Same-run ratios, in the order results.json lists them. */
  ratios: Record<string, number>;
  rss: {
    backfill: { beforeMb: number; peakMb: number; samples: number; growthMb: number };
    run: { peakMb: number; minBeforeMb: number };
  };
  /** The measurements the ratios compare, for the text around them. */
  alter: Measurement;
  backfill: Measurement;
  expand: Measurement;
  throttledBackfill: Measurement | undefined;
}

export function summarize(results: Measurement[]): RunSummary {
  const byId = (id: string) => results.find((m) => m.id === id);
  const must = (id: string): Measurement => {
    const m = byId(id);
    if (!m) throw new Error(`bench: no measurement ${id}`);
    return m;
  };
  const alter = must("alter");
  const update = must("update");
  const indexAfter = must("update-index-after");
  const indexed = must("update-indexed");
  const backfill = must("pgshift-backfill");
  const expand = must("pgshift-expand");
  const ratios: Record<string, number> = {
    pgshiftBackfillOverPlainUpdate: backfill.wallMs / update.wallMs,
    pgshiftExpandOverPlainUpdatePlusIndex: expand.wallMs / (update.wallMs + indexAfter.wallMs),
    indexFirstUpdateOverPlainUpdate: indexed.wallMs / update.wallMs,
    alterStallOverPgshiftBackfillStall: alter.writerStallMs / Math.max(1, backfill.writerStallMs),
    alterStallOverPgshiftExpandStall: alter.writerStallMs / Math.max(1, expand.writerStallMs),
    pgshiftExpandOverAlter: expand.wallMs / alter.wallMs,
  };
  const throttledBackfill = byId("pgshift-throttled-backfill");
  if (throttledBackfill) ratios.throttledBackfillOverBackfill = throttledBackfill.wallMs / backfill.wallMs;
  return {
    ratios,
    rss: {
      backfill: { beforeMb: backfill.rssBeforeMb, peakMb: backfill.rssPeakMb, samples: backfill.rssSamples, growthMb: backfill.rssPeakMb - backfill.rssBeforeMb },
      run: { peakMb: Math.max(...results.map((m) => m.rssPeakMb)), minBeforeMb: Math.min(...results.map((m) => m.rssBeforeMb)) },
    },
    alter,
    backfill,
    expand,
    throttledBackfill,
  };
}
