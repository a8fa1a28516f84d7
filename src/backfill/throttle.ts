/**
 * Adaptive batch size: aim for `targetMs` per batch. Grows at most 2x and shrinks at most 2x
 * per batch, so one slow batch (a checkpoint, a lock wait) does not collapse the size.
 */
export function nextBatchSize(current: number, elapsedMs: number, targetMs: number, min: number, max: number): number {
  const factor = elapsedMs <= 0 ? 2 : Math.min(2, Math.max(0.5, targetMs / elapsedMs));
  return Math.max(min, Math.min(max, Math.round(current * factor)));
}

/** How long to wait before the next batch given the replicas' lag: 0 when within bounds. */
export function replicationPauseMs(lagMs: number, maxLagMs: number): number {
  if (maxLagMs <= 0 || lagMs <= maxLagMs) return 0;
  return Math.min(5000, Math.max(250, Math.round(lagMs - maxLagMs)));
}
