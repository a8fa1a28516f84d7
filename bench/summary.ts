/**
 * What the run's measurements add up to: summary.json (exactly the fields issue #7 names), the
 * same-run ratios, the targets met or not, and the backfill's memory. Computed once
 * here so results.md, results.json, summary.json and the terminal all show the same numbers.
 * A number whose operation was not measured (BENCH_ONLY, no pgbench) is null.
 */
import type { Measurement } from "./measure";
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
  rss: { backfill: { beforeMb: number; peakMb: number; samples: number; growthMb: number } | null; run: { peakMb: number } };
}

const round = (n: number | null | undefined, digits = 0): number | null => (n === null || n === undefined || !Number.isFinite(n) ? null : Number(n.toFixed(digits)));

export function summarize(results: Measurement[], pgbench: PgbenchResult | null): RunSummary {
  const by = (id: string) => results.find((m) => m.id === id);
  const alter = by("alter");
  const update = by("update");
  const backfill = by("pgshift-backfill");
  const expand = by("pgshift-expand");
  const cutover = by("pgshift-cutover");
  const lifecycle = by("pgshift-lifecycle");
  const pgrollStart = by("pgroll-start");
  const win = (id: string) => pgbench?.windows.find((w) => w.id === id);
  const baseline = win("baseline");
  const duringBackfill = win("pgshift-backfill");
  const json: SummaryJson = {
    backfill_rows_per_s: round(backfill?.rowsPerSec),
    single_update_rows_per_s: round(update?.rowsPerSec),
    pgroll_rows_per_s: round(pgrollStart?.rowsPerSec),
    pgroll_start_ms: round(pgrollStart?.wallMs),
    expand_ms: round(expand?.wallMs),
    alter_blocked_ms: round(alter?.writerStallMs),
    cutover_blocked_ms: round(cutover?.writerStallMs),
    pgbench_failed: pgbench ? pgbench.failedTransactions + pgbench.abortedClients.length : null,
    pgbench_p99_ratio: baseline && duringBackfill && baseline.p99Ms > 0 ? round(duringBackfill.p99Ms / baseline.p99Ms, 2) : null,
    max_app_stall_ms: round(lifecycle?.writerStallMs),
  };
  const ratios: Record<string, number> = {};
  const ratio = (name: string, a: number | null | undefined, b: number | null | undefined) => {
    if (a && b) ratios[name] = a / b;
  };
  ratio("backfillRowsPerSecOverSingleUpdate", backfill?.rowsPerSec, update?.rowsPerSec);
  ratio("pgrollStartOverPgshiftExpand", pgrollStart?.wallMs, expand?.wallMs);
  ratio("backfillRowsPerSecOverPgroll", backfill?.rowsPerSec, pgrollStart?.rowsPerSec);
  ratio("alterStallOverPgshiftMaxStall", alter?.writerStallMs, Math.max(1, lifecycle?.writerStallMs ?? 0));
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
  const application = win("application");
  if (application && duringBackfill && application.p99Ms > 0) ratios.pgbenchP99OverApplicationAlone = duringBackfill.p99Ms / application.p99Ms;
  const t = (target: string, measured: number | null, ok: (v: number) => boolean, show: (v: number) => string): Target => ({ target, measured: measured === null ? "not measured" : show(measured), met: measured === null ? null : ok(measured) });
  const x = (v: number) => `${v.toFixed(2)}x`;
  const targets = [
    t("backfill throughput >= one plain UPDATE", ratios.backfillRowsPerSecOverSingleUpdate ?? null, (v) => v >= 1, x),
    t("whole expand >= 3x faster than pgroll start", ratios.pgrollStartOverPgshiftExpand ?? null, (v) => v >= 3, x),
    t("0 failed pgbench transactions", json.pgbench_failed, (v) => v === 0, String),
    t("pgbench p99 during the backfill <= 2x the baseline", json.pgbench_p99_ratio, (v) => v <= 2, x),
    t("longest application stall <= 100 ms in every pgshift stage", json.max_app_stall_ms, (v) => v <= 100, (v) => `${v} ms`),
  ];
  return {
    json,
    ratios,
    targets,
    rss: {
      backfill: backfill ? { beforeMb: backfill.rssBeforeMb, peakMb: backfill.rssPeakMb, samples: backfill.rssSamples, growthMb: backfill.rssPeakMb - backfill.rssBeforeMb } : null,
      run: { peakMb: Math.max(0, ...results.map((m) => m.rssPeakMb)) },
    },
  };
}
