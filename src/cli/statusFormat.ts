/**
 * `pgshift status`: from what the database says (a StatusSnapshot, read by statusQuery.ts) to
 * the report, as JSON for bots or as a table for people. Pure: no I/O, no clock (the server's
 * now() comes in the snapshot), so the unit tests pin every number.
 */
import { formatDuration } from "../backfill/progress";
import type { ListedMigration } from "../db/state";

/** What statusQuery.ts reads. */
export interface StatusSnapshot {
  /** The server's now(), so ages do not depend on this machine's clock. */
  now: Date;
  /** `--schema`, or null for every schema. */
  schema: string | null;
  migrations: SnapshotMigration[];
  lockWaits: LockWait[];
}

export interface SnapshotMigration extends ListedMigration {
  /** pg_class.reltuples of the migrated table; null when unknown (never analyzed) or the table is gone. */
  estimatedRows: number | null;
}

/** A pgshift session waiting on a lock, and who holds it back (pg_blocking_pids). */
export interface LockWait {
  pid: number;
  applicationName: string;
  user: string | null;
  /** Seconds since the wait started (pg_locks.waitstart; the query's start before PostgreSQL 14). */
  waitingSeconds: number | null;
  /** pg_locks.locktype of the lock waited for: relation, advisory, transactionid, ... (null when not known). */
  lockType: string | null;
  /** pg_locks.mode: AccessExclusiveLock, ... */
  lockMode: string | null;
  /** `schema.table` when waiting for a relation lock. */
  relation: string | null;
  query: string;
  blockedBy: LockBlocker[];
}

export interface LockBlocker {
  pid: number;
  applicationName: string;
  user: string | null;
  /** pg_stat_activity.state: active, idle in transaction, ... */
  state: string | null;
  /** Seconds since its transaction began; null when it has none (or it is hidden from this role). */
  transactionSeconds: number | null;
  query: string;
}

/** How far the backfill got, and how long the rest should take. */
export interface BackfillStatus {
  /** not-started: no checkpoint yet; in-progress: some batches committed; done: every row scanned. */
  status: "not-started" | "in-progress" | "done";
  rowsScanned: number;
  rowsUpdated: number;
  /** Rows the backfill has to scan: the table's estimate, never less than rowsScanned; null when unknown. */
  estimatedRows: number | null;
  /** rowsScanned of estimatedRows, 0-100, one decimal; 100 only when done. */
  percent: number | null;
  /** rowsScanned / (updatedAt - createdAt): the mean over the migration's life so far. */
  rowsPerSecond: number | null;
  /** (estimatedRows - rowsScanned) / rowsPerSecond; null when done or not computable. */
  etaSeconds: number | null;
  /** When the last checkpoint (or stage change) was written: the row's updated_at. */
  lastCheckpointAt: string | null;
  secondsSinceCheckpoint: number | null;
  /** In progress, but no checkpoint for IDLE_AFTER_SECONDS: nothing is running it (or it is paused). */
  idle: boolean;
}

export interface MigrationStatus {
  id: string;
  stateSchema: string;
  stage: string;
  table: { schema: string; name: string };
  column: string;
  from: string;
  to: string;
  /** `schema.table.column from -> to` */
  change: string;
  backfill: BackfillStatus;
  reversible: boolean;
  irreversibleReason: string | null;
  owner: string | null;
  /** For a member of a key family: the id of the family's root migration (which drives it); else null. */
  familyRoot: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The `--json` document. Field names are a contract: add fields, never rename or remove them. */
export interface StatusReport {
  formatVersion: 1;
  generatedAt: string;
  schema: string | null;
  migrations: MigrationStatus[];
  lockWaits: LockWait[];
}

/** An in-progress backfill without a checkpoint for this long is reported as idle. */
export const IDLE_AFTER_SECONDS = 600;

const round = (n: number, digits: number): number => Number(n.toFixed(digits));
const seconds = (from: Date, to: Date): number => (to.getTime() - from.getTime()) / 1000;

export function backfillStatus(m: SnapshotMigration, now: Date): BackfillStatus {
  const cp = m.backfill;
  const scanned = cp?.rowsScanned ?? 0;
  const updated = cp?.rowsUpdated ?? 0;
  // from cutover on the shadow column was complete (cutover refuses otherwise)
  const status = cp?.done || m.stage !== "expand" ? "done" : cp ? "in-progress" : "not-started";
  const estimate = m.estimatedRows !== null && m.estimatedRows > 0 ? Math.max(m.estimatedRows, scanned) : status === "done" ? scanned : null;
  let percent: number | null = null;
  if (status === "done") percent = 100;
  else if (estimate !== null && estimate > 0) percent = Math.min(99.9, round((100 * scanned) / estimate, 1));
  const elapsed = seconds(m.createdAt, m.updatedAt);
  const rate = cp && scanned > 0 && elapsed > 0 ? scanned / elapsed : null;
  const eta = status === "in-progress" && rate !== null && estimate !== null ? (estimate - scanned) / rate : null;
  const since = cp ? Math.max(0, seconds(m.updatedAt, now)) : null;
  return {
    status,
    rowsScanned: scanned,
    rowsUpdated: updated,
    estimatedRows: estimate,
    percent,
    rowsPerSecond: rate === null ? null : round(rate, 1),
    etaSeconds: eta === null ? null : round(eta, 1),
    lastCheckpointAt: cp ? m.updatedAt.toISOString() : null,
    secondsSinceCheckpoint: since === null ? null : round(since, 1),
    idle: status === "in-progress" && since !== null && since > IDLE_AFTER_SECONDS,
  };
}

export function migrationStatus(m: SnapshotMigration, now: Date): MigrationStatus {
  const t = m.facts.table;
  return {
    id: m.id,
    stateSchema: m.stateSchema,
    stage: m.stage,
    table: { schema: t.schema, name: t.name },
    column: t.column.name,
    from: m.facts.from.formatted,
    to: m.facts.to.formatted,
    change: `${t.schema}.${t.name}.${t.column.name} ${m.facts.from.formatted} -> ${m.facts.to.formatted}`,
    backfill: backfillStatus(m, now),
    reversible: m.reversible,
    irreversibleReason: m.irreversibleReason,
    owner: m.owner,
    familyRoot: m.facts.familyRoot ?? null,
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
  };
}

export function buildReport(s: StatusSnapshot): StatusReport {
  return {
    formatVersion: 1,
    generatedAt: s.now.toISOString(),
    schema: s.schema,
    migrations: s.migrations.map((m) => migrationStatus(m, s.now)),
    lockWaits: s.lockWaits,
  };
}

export function formatJson(r: StatusReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** One line, at most `max` characters. */
export function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length <= max ? line : `${line.slice(0, max - 3)}...`;
}

function progressCell(b: BackfillStatus): string {
  switch (b.status) {
    case "not-started":
      return "not started";
    case "done":
      return `done (${count(b.rowsScanned)} rows)`;
    case "in-progress":
      return b.estimatedRows === null
        ? `${count(b.rowsScanned)} rows (table size unknown)`
        : `${count(b.rowsScanned)} of ~${count(b.estimatedRows)} rows (${(b.percent ?? 0).toFixed(1)}%)`;
  }
}

function rateCell(b: BackfillStatus): string {
  return b.status === "in-progress" && b.rowsPerSecond !== null ? `${count(b.rowsPerSecond)} rows/s` : "-";
}

function etaCell(b: BackfillStatus): string {
  if (b.status !== "in-progress") return "-";
  if (b.idle && b.secondsSinceCheckpoint !== null) return `? (idle ${formatDuration(b.secondsSinceCheckpoint * 1000)})`;
  return b.etaSeconds === null ? "?" : formatDuration(b.etaSeconds * 1000);
}

/** Columns padded to their widest cell, two spaces apart, no trailing blanks. */
export function alignColumns(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ").trimEnd());
}

function ago(secondsValue: number | null): string {
  return secondsValue === null ? "?" : formatDuration(secondsValue * 1000);
}

function lockWaitLines(w: LockWait): string[] {
  const what = w.lockMode ? `${w.lockMode}${w.relation ? ` on ${w.relation}` : w.lockType ? ` (${w.lockType} lock)` : ""}` : "a lock";
  const lines = [`  pid ${w.pid} (${w.applicationName || "no application_name"}) waiting ${ago(w.waitingSeconds)} for ${what}: ${shorten(w.query, 100)}`];
  for (const b of w.blockedBy) {
    const who = [b.applicationName || "no application_name", b.user ? `user ${b.user}` : null, b.state, b.transactionSeconds !== null ? `transaction open ${ago(b.transactionSeconds)}` : null]
      .filter((x): x is string => Boolean(x))
      .join(", ");
    lines.push(`    blocked by pid ${b.pid} (${who}): ${shorten(b.query, 100)}`);
  }
  return lines;
}

/** The report for people: one line per migration, then footnotes and lock waits. */
export function formatTable(r: StatusReport): string {
  const where = r.schema === null ? "any state table this role can read" : `schema ${r.schema}`;
  const out: string[] = [];
  if (r.migrations.length === 0) {
    out.push(`No pgshift migrations in ${where}.`);
  } else {
    const notes: string[] = [];
    const rows = [["STAGE", "CHANGE", "BACKFILL", "RATE", "ETA", "REVERSIBLE", "OWNER"]];
    for (const m of r.migrations) {
      let reversible = m.reversible ? "yes" : "no";
      if (!m.reversible && m.irreversibleReason) {
        notes.push(`[${notes.length + 1}] ${m.id}: ${shorten(m.irreversibleReason, 200)}`);
        reversible = `no [${notes.length}]`;
      }
      rows.push([m.stage, m.familyRoot ? `${m.change} (key family of ${m.familyRoot})` : m.change, progressCell(m.backfill), rateCell(m.backfill), etaCell(m.backfill), reversible, m.owner ?? "-"]);
    }
    out.push(...alignColumns(rows));
    if (notes.length > 0) out.push("", ...notes);
  }
  if (r.lockWaits.length > 0) {
    out.push("", `pgshift sessions waiting on locks (${r.lockWaits.length}):`);
    for (const w of r.lockWaits) out.push(...lockWaitLines(w));
  }
  return `${out.join("\n")}\n`;
}
