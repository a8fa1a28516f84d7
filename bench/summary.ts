/**
 * What the run's measurements add up to: summary.json (exactly the fields issue #7 names), the
 * same-run ratios, the targets met or not, and the backfill's memory. Computed once
 * here so results.md, results.json, summary.json and the terminal all show the same numbers.
 * A number whose operation was not measured (BENCH_ONLY, no pgbench) is null.
 */
import { roundId, type Measurement } from "./measure";
import type { PgbenchWindow } from "./pgbench";

/** summary.json: these fields, in this order, nothing else. */
export interface SummaryJson {
  backfill_rows_per_s: number | null;
  single_update_rows_per_s: number | null;
  pgroll_rows_per_s: number | null;
  pgroll_start_ms: number | null;
  expand_ms: number | null;
  alter_blocked_ms: number | null;
  cutover_blocked_ms: number | null;
  pgbench_failed: number | null;
  pgbench_p99_ratio: number | null;
  max_app_stall_ms: number | null;
}

/** pgbench over the whole run: its phases, and failures anywhere in it. */
export interface PgbenchResult {
  windows: PgbenchWindow[];
  failedTransactions: number;
  abortedClients: string[];
  /** Whether its log reaches past the last phase (see bench/pgbench.ts). */
  coversRun: boolean;
}

export interface Target {
  target: string;
  measured: string;
  met: boolean | null;
}

export interface RunSummary {
  json: SummaryJson;
  ratios: Record<string, number>;
  targets: Target[];
  /** Each round's values (BENCH_ROUNDS), the medians and worsts above taken over them. */
  rounds: RoundValues[];
  rss: { backfill: { beforeMb: number; peakMb: number; samples: number; growthMb: number } | null; run: { peakMb: number } };
}

const round = (n: number | null | undefined, digits = 0): number | null => (n === null || n === undefined || !Number.isFinite(n) ? null : Number(n.toFixed(digits)));

/** The middle value (the mean of the two middle ones for an even count); null for none. */
export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** What one round (BENCH_ROUNDS) measured of the operations the targets compare; null where one did not run. */
export interface RoundValues {
  round: number;
  backfillRowsPerSec: number | null;
  singleUpdateRowsPerSec: number | null;
  pgrollRowsPerSec: number | null;
  pgrollStartMs: number | null;
  expandMs: number | null;
  cutoverStallMs: number | null;
  lifecycleStallMs: number | null;
  /** backfill rows/s over the UPDATE's, pgroll start over pgshift's expand, the backfill's pgbench p99 over pgbench alone, over the application alone and over one core busy. */
  throughput: number | null;
  expandSpeedup: number | null;
  p99Ratio: number | null;
  p99OverApplication: number | null;
  p99OverOneCoreBusy: number | null;
  /** The floor: pgbench's p99 beside the writer and one backend only computing, over pgbench alone (bench/baselines.ts). */
  oneCoreBusyP99Ratio: number | null;
}

const quotient = (a: number | null | undefined, b: number | null | undefined): number | null => (a && b ? a / b : null);

function roundValues(results: Measurement[], pgbench: PgbenchResult | null, round: number): RoundValues {
  const by = (id: string) => results.find((m) => m.id === id);
  const win = (id: string) => pgbench?.windows.find((w) => w.id === id);
  const pgshift = roundId("pgshift", round);
  const backfill = by(`${pgshift}-backfill`);
  const update = by(roundId("update", round));
  const expand = by(`${pgshift}-expand`);
  const pgrollStart = by(`${roundId("pgroll", round)}-start`);
  const baseline = win(roundId("baseline", round));
  const during = win(`${pgshift}-backfill`);
  return {
    round,
    backfillRowsPerSec: backfill?.rowsPerSec ?? null,
    singleUpdateRowsPerSec: update?.rowsPerSec ?? null,
    pgrollRowsPerSec: pgrollStart?.rowsPerSec ?? null,
    pgrollStartMs: pgrollStart?.wallMs ?? null,
    expandMs: expand?.wallMs ?? null,
    cutoverStallMs: by(`${pgshift}-cutover`)?.writerStallMs ?? null,
    lifecycleStallMs: by(`${pgshift}-lifecycle`)?.writerStallMs ?? null,
    throughput: quotient(backfill?.rowsPerSec, update?.rowsPerSec),
    expandSpeedup: quotient(pgrollStart?.wallMs, expand?.wallMs),
    p99Ratio: quotient(during?.p99Ms, baseline?.p99Ms),
    p99OverApplication: quotient(during?.p99Ms, win(roundId("application", round))?.p99Ms),
    p99OverOneCoreBusy: quotient(during?.p99Ms, win(roundId("one-core", round))?.p99Ms),
    oneCoreBusyP99Ratio: quotient(win(roundId("one-core", round))?.p99Ms, baseline?.p99Ms),
  };
}

/**
 * `rounds` (BENCH_ROUNDS): the UPDATE, the application alone, the default lifecycle and pgroll
 * ran that many times; summary.json and the targets take the median of the rounds' values and
 * ratios (each ratio within its round, side by side), the stalls their worst.
 */
export function summarize(results: Measurement[], pgbench: PgbenchResult | null, rounds = 1): RunSummary {
  const by = (id: string) => results.find((m) => m.id === id);
  const alter = by("alter");
  const update = by("update");
  const backfill = by("pgshift-backfill");
  const pgrollStart = by("pgroll-start");
  const win = (id: string) => pgbench?.windows.find((w) => w.id === id);
  const baseline = win("baseline");
  const perRound = Array.from({ length: rounds }, (_, i) => roundValues(results, pgbench, i + 1));
  /** The rounds that measured it. */
  const measured = (f: (r: RoundValues) => number | null) => perRound.map(f).filter((v): v is number => v !== null);
  const mid = (f: (r: RoundValues) => number | null) => median(measured(f));
  const worst = (f: (r: RoundValues) => number | null) => {
    const vs = measured(f);
    return vs.length ? Math.max(...vs) : null;
  };
  const json: SummaryJson = {
    backfill_rows_per_s: round(mid((r) => r.backfillRowsPerSec)),
    single_update_rows_per_s: round(mid((r) => r.singleUpdateRowsPerSec)),
    pgroll_rows_per_s: round(mid((r) => r.pgrollRowsPerSec)),
    pgroll_start_ms: round(mid((r) => r.pgrollStartMs)),
    expand_ms: round(mid((r) => r.expandMs)),
    alter_blocked_ms: round(alter?.writerStallMs),
    cutover_blocked_ms: round(worst((r) => r.cutoverStallMs)),
    pgbench_failed: pgbench ? pgbench.failedTransactions + pgbench.abortedClients.length : null,
    pgbench_p99_ratio: round(mid((r) => r.p99Ratio), 2),
    max_app_stall_ms: round(worst((r) => r.lifecycleStallMs)),
  };
  const ratios: Record<string, number> = {};
  const ratio = (name: string, a: number | null | undefined, b: number | null | undefined) => {
    if (a && b) ratios[name] = a / b;
  };
  // the targets' ratios: the median of the rounds'
  const midRatio = (name: string, f: (r: RoundValues) => number | null) => {
    const v = mid(f);
    if (v !== null) ratios[name] = v;
  };
  midRatio("backfillRowsPerSecOverSingleUpdate", (r) => r.throughput);
  midRatio("pgrollStartOverPgshiftExpand", (r) => r.expandSpeedup);
  midRatio("backfillRowsPerSecOverPgroll", (r) => quotient(r.backfillRowsPerSec, r.pgrollRowsPerSec));
  ratio("alterStallOverPgshiftMaxStall", alter?.writerStallMs, Math.max(1, json.max_app_stall_ms ?? 0));
  ratio("indexFirstUpdateOverPlainUpdate", by("update-indexed")?.wallMs, update?.wallMs);
  ratio("throttledBackfillOverBackfill", by("pgshift-throttled-backfill")?.wallMs, backfill?.wallMs);
  // backfill.workers 2 beside the default one: its throughput and its pgbench p99, as the targets read them
  const twoWorkers = by("pgshift-two-workers-backfill");
  const duringTwoWorkers = win("pgshift-two-workers-backfill");
  ratio("twoWorkersRowsPerSecOverSingleUpdate", twoWorkers?.rowsPerSec, update?.rowsPerSec);
  ratio("pgrollStartOverTwoWorkersExpand", pgrollStart?.wallMs, by("pgshift-two-workers-expand")?.wallMs);
  if (baseline && duringTwoWorkers && baseline.p99Ms > 0) ratios.twoWorkersPgbenchP99Ratio = duringTwoWorkers.p99Ms / baseline.p99Ms;
  // the backfill's p99 over the application's own load without a migration (the writer alone,
  // measured right before it): the migration's share, the writer's left out
  midRatio("pgbenchP99OverApplicationAlone", (r) => r.p99OverApplication);
  // the floor of using one core (the writer and a backend that only computes) over pgbench
  // alone, and the backfill's p99 over that floor: the share its I/O and locks add
  midRatio("oneCoreBusyPgbenchP99Ratio", (r) => r.oneCoreBusyP99Ratio);
  midRatio("pgbenchP99OverOneCoreBusy", (r) => r.p99OverOneCoreBusy);
  const t = (target: string, measured: number | null, ok: (v: number) => boolean, show: (v: number) => string, each?: (r: RoundValues) => number | null, how = "median"): Target => {
    // with rounds, every round's value beside the one the target reads
    const values = each && rounds > 1 ? perRound.map(each) : [];
    const list = values.length ? ` (${how} of ${rounds} rounds: ${values.map((v) => (v === null ? "-" : show(v))).join(", ")})` : "";
    return { target, measured: measured === null ? "not measured" : show(measured) + list, met: measured === null ? null : ok(measured) };
  };
  const x = (v: number) => `${v.toFixed(2)}x`;
  const targets = [
    t("backfill throughput >= one plain UPDATE", ratios.backfillRowsPerSecOverSingleUpdate ?? null, (v) => v >= 1, x, (r) => r.throughput),
    t("whole expand >= 3x faster than pgroll start", ratios.pgrollStartOverPgshiftExpand ?? null, (v) => v >= 3, x, (r) => r.expandSpeedup),
    t("0 failed pgbench transactions", json.pgbench_failed, (v) => v === 0, String),
    t("pgbench p99 during the backfill <= 2x the baseline", json.pgbench_p99_ratio, (v) => v <= 2, x, (r) => r.p99Ratio),
    t("longest application stall <= 100 ms in every pgshift stage", json.max_app_stall_ms, (v) => v <= 100, (v) => `${Math.round(v)} ms`, (r) => r.lifecycleStallMs, "worst"),
  ];
  return {
    json,
    ratios,
    targets,
    rounds: perRound,
    rss: {
      backfill: backfill ? { beforeMb: backfill.rssBeforeMb, peakMb: backfill.rssPeakMb, samples: backfill.rssSamples, growthMb: backfill.rssPeakMb - backfill.rssBeforeMb } : null,
      run: { peakMb: Math.max(0, ...results.map((m) => m.rssPeakMb)) },
    },
  };
}
