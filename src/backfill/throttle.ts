import type { BackfillSettings } from "../spec";

/**
 * Adaptive batch size: aim for `targetMs` per batch. Grows at most 2x and shrinks at most 2x
 * per batch, so one slow batch (a checkpoint, a lock wait) does not collapse the size.
 */
export function nextBatchSize(current: number, elapsedMs: number, targetMs: number, min: number, max: number): number {
  const factor = elapsedMs <= 0 ? 2 : Math.min(2, Math.max(0.5, targetMs / elapsedMs));
  return Math.max(min, Math.min(max, Math.round(current * factor)));
}

/**
 * The throttles' inputs (replicas' lag, the oldest transaction) are read at most this often,
 * ms, and before the first batch and after every pause, by both runners: the read cost 2.7 ms a
 * batch on the bench's loaded server, 5% of a backfill of 50 ms batches, and neither input
 * changes much within a second.
 */
export const LOAD_CHECK_EVERY_MS = 1000;

/** What the database looks like between two batches. */
export interface DatabaseLoad {
  /** Largest replay_lag of any replica, ms (0 without replicas or without the right to see them). */
  replicationLagMs: number;
  /** Age of the oldest other open transaction, ms. */
  oldestTransactionMs: number;
  /** How long a one-row synchronous commit took, ms (commitProbeSql, sql.ts); null when not measured (maxCommitLatencyMs 0, or another throttle already pauses). */
  commitMs: number | null;
}

/** The settings the throttles read. */
export type ThrottleSettings = Pick<BackfillSettings, "maxReplicationLagMs" | "maxTransactionAgeMs" | "maxCommitLatencyMs">;

/**
 * Whether to pause before the next batch, and why: replicas falling behind; a long
 * transaction holding back the xmin horizon (every batch then leaves dead rows that VACUUM
 * cannot remove until it ends); or commits waiting for the disk (commitPauseMs). 0 / null when
 * the batch may run.
 */
export function loadPause(load: DatabaseLoad, t: ThrottleSettings): { pauseMs: number; reason: string | null } {
  const lag = replicationPauseMs(load.replicationLagMs, t.maxReplicationLagMs);
  if (lag > 0) return { pauseMs: lag, reason: `replicas lag more than ${t.maxReplicationLagMs} ms` };
  if (t.maxTransactionAgeMs > 0 && load.oldestTransactionMs > t.maxTransactionAgeMs) {
    return { pauseMs: 1000, reason: `a transaction has been open for more than ${t.maxTransactionAgeMs} ms` };
  }
  const commitMs = load.commitMs ?? 0;
  const commit = commitPauseMs(commitMs, t.maxCommitLatencyMs);
  if (commit > 0) return { pauseMs: commit, reason: `a commit took ${Math.round(commitMs)} ms, more than ${t.maxCommitLatencyMs} ms (backfill.maxCommitLatencyMs)` };
  return { pauseMs: 0, reason: null };
}

/**
 * How long to wait before the next batch given how long a synchronous commit took: 0 when
 * within bounds, else COMMIT_PAUSE_FACTOR times the commit's time, within [250, 5000] ms.
 * A slow commit means the disk's queue is long (the batches' WAL and the dirty pages they
 * leave, which the checkpointer and the kernel write back): every application commit waits
 * as long. The pause gives the disk that time to drain without new batches.
 */
export function commitPauseMs(commitMs: number, maxCommitMs: number): number {
  return pauseOver(commitMs, maxCommitMs, COMMIT_PAUSE_FACTOR * commitMs);
}

export const COMMIT_PAUSE_FACTOR = 4;

/** How long to wait before the next batch given the replicas' lag: 0 when within bounds, else the excess. */
export function replicationPauseMs(lagMs: number, maxLagMs: number): number {
  return pauseOver(lagMs, maxLagMs, lagMs - maxLagMs);
}

/** A throttle's pause is at least this long, ms, once its input is over the limit... */
const PAUSE_MIN_MS = 250;
/** ...and at most this long, ms: the input is then measured again before the next batch. */
const PAUSE_MAX_MS = 5000;

/** A measured throttle's pause: 0 while `value` is within `limit` or the check is off (limit 0), else `wait` within [PAUSE_MIN_MS, PAUSE_MAX_MS]. */
function pauseOver(value: number, limit: number, wait: number): number {
  if (limit <= 0 || value <= limit) return 0;
  return Math.min(PAUSE_MAX_MS, Math.max(PAUSE_MIN_MS, Math.round(wait)));
}

/**
 * The same rules as SQL expressions, for the in-database procedure (backfill.runner
 * "database"); test/integration/databaseRunner.test.ts checks that they give the numbers of
 * nextBatchSize, replicationPauseMs and commitPauseMs. Arguments are SQL expressions (PL/pgSQL variables).
 */
export function nextBatchSizeSql(current: string, elapsedMs: string, targetMs: number, min: number, max: number): string {
  const factor = `CASE WHEN ${elapsedMs} <= 0 THEN 2 ELSE least(2, greatest(0.5, ${targetMs} / ${elapsedMs})) END`;
  return `greatest(${min}, least(${max}, round(${current} * ${factor})))::bigint`;
}

export function commitPauseMsSql(commitMs: string, maxCommitMs: number): string {
  return pauseOverSql(commitMs, maxCommitMs, `${COMMIT_PAUSE_FACTOR} * ${commitMs}`);
}

export function replicationPauseMsSql(lagMs: string, maxLagMs: number): string {
  return pauseOverSql(lagMs, maxLagMs, `${lagMs} - ${maxLagMs}`);
}

/** pauseOver as a SQL expression. */
function pauseOverSql(value: string, limit: number, wait: string): string {
  if (limit <= 0) return "0";
  return `CASE WHEN ${value} <= ${limit} THEN 0 ELSE least(${PAUSE_MAX_MS}, greatest(${PAUSE_MIN_MS}, round(${wait}))) END`;
}
