/** Progress lines for long backfills: rows done, rate, ETA. Pure formatting. */
export interface ProgressSnapshot {
  label: string;
  scanned: number;
  /** Rows scanned since this run started (the rate and ETA use it, so a resumed run is not flattered). */
  scannedThisRun: number;
  updated: number;
  /** Estimated rows to scan (pg_class.reltuples or count(*)). */
  total: number;
  elapsedMs: number;
  batchSize: number;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

export function progressLine(p: ProgressSnapshot): string {
  const rate = p.elapsedMs > 0 ? (p.scannedThisRun * 1000) / p.elapsedMs : 0;
  const total = Math.max(p.total, p.scanned);
  const pct = total > 0 ? Math.min(100, (100 * p.scanned) / total) : 100;
  const eta = rate > 0 ? formatDuration(((total - p.scanned) * 1000) / rate) : "?";
  return (
    `pgshift: backfill ${p.label}: ${formatCount(p.scanned)}/${formatCount(total)} rows (${pct.toFixed(1)}%), ` +
    `${formatCount(p.updated)} updated, ${formatCount(rate)} rows/s, ETA ${eta}, batch ${formatCount(p.batchSize)}`
  );
}

/** Percent of `total` that `scanned` is, as shown: one decimal, at most 100. */
export function percent(scanned: number, total: number): string {
  const t = Math.max(total, scanned);
  return (t > 0 ? Math.min(100, (100 * scanned) / t) : 100).toFixed(1);
}

/** A duration as budgets are written: `250 ms` below a second, else as formatDuration. */
export function formatBudget(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : formatDuration(ms);
}

/**
 * Where the backfill stands in one phrase, for the component's `backfillProgress` output, the
 * Backfill child's result and the messages of the children that wait for it:
 * `backfill in progress: 60,000 of 200,000 rows (30.0%)` or `backfill done: 200,000 rows`.
 * `total` is an estimate (pg_class.reltuples); the phrase never shows less than `scanned`.
 */
export function progressText(p: { scanned: number; total: number | null; done: boolean }): string {
  if (p.done) return `backfill done: ${formatCount(p.scanned)} rows`;
  if (p.total === null) return `backfill in progress: ${formatCount(p.scanned)} rows`;
  return `backfill in progress: ${formatCount(p.scanned)} of ${formatCount(Math.max(p.total, p.scanned))} rows (${percent(p.scanned, p.total)}%)`;
}

/**
 * The wall-clock time the time-budgeted runs of a backfill spent, and the rows they scanned in
 * it (pauses and throttling included, so the rate is what a deploy really achieves).
 */
export interface TimeSpent {
  ms: number;
  rows: number;
}

/** How much is left of an unfinished backfill, at the rate its budgeted runs achieved. */
export interface Remaining {
  rows: number;
  /** null when no budgeted run recorded its time. */
  ms: number | null;
  /** More `pulumi up` runs at this budget; null without a budget or a rate. */
  deploys: number | null;
}

export function remaining(p: { scanned: number; total: number; spent?: TimeSpent; budgetMs?: number }): Remaining {
  const rows = Math.max(0, p.total - p.scanned);
  const rate = p.spent && p.spent.ms > 0 && p.spent.rows > 0 ? p.spent.rows / p.spent.ms : null;
  const ms = rate === null ? null : rows / rate;
  // unfinished means at least one more run, whatever the (estimated) rows left say
  const deploys = ms === null || !p.budgetMs ? null : Math.max(1, Math.ceil(ms / p.budgetMs));
  return { rows, ms, deploys };
}

/** `about 1m30s more, about 3 more deploys at backfill.maxDurationMs 30000` (what is known of it). */
export function remainingText(r: Remaining, budgetMs?: number): string {
  const parts = [`about ${formatCount(r.rows)} rows left`];
  if (r.ms !== null) parts.push(`about ${formatBudget(r.ms)} of backfill`);
  if (r.deploys !== null) parts.push(`about ${r.deploys} more deploy${r.deploys === 1 ? "" : "s"} at backfill.maxDurationMs ${budgetMs}`);
  return parts.join(", ");
}

export interface BudgetStop {
  label: string;
  budgetMs: number;
  scanned: number;
  scannedThisRun: number;
  total: number;
  elapsedMs: number;
  lastKey: string[] | null;
  spent?: TimeSpent;
}

/** The line a backfill logs when its time budget ran out: how far it got and how to go on. */
export function budgetStopLine(p: BudgetStop): string {
  const rate = p.elapsedMs > 0 ? (p.scannedThisRun * 1000) / p.elapsedMs : 0;
  const left = remaining({ scanned: p.scanned, total: p.total, spent: p.spent, budgetMs: p.budgetMs });
  const at = p.lastKey ? ` after key (${p.lastKey.join(", ")})` : "";
  return (
    `pgshift: backfill ${p.label}: time budget of ${formatBudget(p.budgetMs)} (backfill.maxDurationMs) used up after ${formatBudget(p.elapsedMs)}: ` +
    `${formatCount(p.scanned)} of ${formatCount(Math.max(p.total, p.scanned))} rows (${percent(p.scanned, p.total)}%), ${formatCount(p.scannedThisRun)} this run at ${formatCount(rate)} rows/s. ` +
    `Stopped cleanly with the checkpoint${at} committed; the index copies wait and cutover is refused until it finishes. ` +
    `Run pulumi up again (stage "expand") to continue from there: ${remainingText(left, p.budgetMs)}.`
  );
}

/** `149.2 MB`: sizes as the backfill's last line reports them. */
export function formatBytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/** The table's size over the backfill (bloat: every backfilled row left a dead version), and the VACUUMs that bounded it. */
export function sizeLine(label: string, before: number, after: number, vacuums: number): string {
  return `pgshift: backfill ${label}: table ${formatBytes(before)} before, ${formatBytes(after)} after (${vacuums} VACUUM${vacuums === 1 ? "" : "s"} by backfill.vacuumEveryRows)`;
}
