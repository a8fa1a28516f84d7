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

function formatCount(n: number): string {
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
