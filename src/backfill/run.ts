import type { ClientBase } from "pg";
import { withLockRetry, type ExecutorOptions } from "../db/executor";
import { saveCheckpoint, type BackfillCheckpoint } from "../db/state";
import { saveCheckpointSql } from "../sql/state";
import type { PlanContext } from "../plan/facts";
import { progressLine } from "./progress";
import { batchSessionSql, batchSql, upperKeySql } from "./sql";
import { loadPause, nextBatchSize, type DatabaseLoad } from "./throttle";

export interface BackfillResult {
  checkpoint: BackfillCheckpoint;
  batches: number;
  elapsedMs: number;
}

export interface BackfillRunOptions extends ExecutorOptions {
  stateSchema: string;
  /** Progress lines at most this often, ms. Default 2000. */
  progressEveryMs?: number;
  /** Stop after this many batches (tests of resume). */
  maxBatches?: number;
}

const MIN_BATCH = 100;

async function estimateRows(db: ClientBase, table: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass($1)`, [table]);
  const estimate = Number(rows[0]?.n ?? -1);
  if (estimate > 0) return estimate;
  const { rows: counted } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(counted[0].n);
}

async function databaseLoad(db: ClientBase): Promise<DatabaseLoad> {
  const { rows } = await db.query<{ lag: number | null; age: number | null }>(
    `SELECT (SELECT (max(extract(epoch FROM replay_lag)) * 1000)::float8 FROM pg_stat_replication) AS lag,
            (SELECT (extract(epoch FROM now() - min(xact_start)) * 1000)::float8 FROM pg_stat_activity
              WHERE pid <> pg_backend_pid() AND xact_start IS NOT NULL AND backend_type = 'client backend') AS age`,
  );
  return { replicationLagMs: rows[0]?.lag ?? 0, oldestTransactionMs: rows[0]?.age ?? 0 };
}

/**
 * Fills the shadow column in keyset batches, resuming from the checkpoint in the state table.
 * Each batch and its checkpoint commit together, so a kill -9 at any moment loses nothing and
 * redoes at most one batch. It only walks keys up to the largest key at start: rows inserted
 * later already got their shadow from the trigger, so it ends under a steady insert load.
 */
export async function runBackfill(db: ClientBase, ctx: PlanContext, start: BackfillCheckpoint | null, opts: BackfillRunOptions): Promise<BackfillResult> {
  const t = ctx.facts.table;
  const b = ctx.spec.backfill;
  const label = `${t.qualifiedName}.${ctx.facts.table.column.name}`;
  let checkpoint: BackfillCheckpoint = start ?? { lastKey: null, upperKey: null, rowsUpdated: 0, rowsScanned: 0, done: false };
  const began = Date.now();
  if (checkpoint.done) return { checkpoint, batches: 0, elapsedMs: 0 };
  if (!checkpoint.upperKey) {
    const { rows } = await db.query<{ key: string[] }>(upperKeySql(ctx));
    checkpoint = { ...checkpoint, upperKey: rows[0]?.key ?? null, done: rows.length === 0 };
    await saveCheckpoint(db, opts.stateSchema, idOf(ctx), checkpoint);
    if (checkpoint.done) return { checkpoint, batches: 0, elapsedMs: Date.now() - began };
  }
  const total = await estimateRows(db, t.qualifiedName);
  const firstSql = batchSql(ctx, true);
  const nextSql = batchSql(ctx, false);
  const checkpointSql = saveCheckpointSql(opts.stateSchema);
  let batchSize = b.batchSize;
  let batches = 0;
  let lastReport = 0;
  const scannedBefore = checkpoint.rowsScanned;
  opts.log?.(`pgshift: backfill ${label}: starting${checkpoint.lastKey ? ` from checkpoint after key (${checkpoint.lastKey.join(", ")})` : ""}, about ${total.toLocaleString("en-US")} rows`);
  while (!checkpoint.done) {
    if (opts.maxBatches !== undefined && batches >= opts.maxBatches) break;
    const pause = loadPause(await databaseLoad(db), b.maxReplicationLagMs, b.maxTransactionAgeMs);
    if (pause.pauseMs > 0) {
      opts.log?.(`pgshift: backfill ${label}: ${pause.reason}, pausing ${pause.pauseMs} ms`);
      await new Promise((r) => setTimeout(r, pause.pauseMs));
      continue;
    }
    const params: unknown[] = [...(checkpoint.upperKey as string[]), batchSize, ...(checkpoint.lastKey ?? [])];
    const t0 = Date.now();
    const prev = checkpoint;
    const result = await withLockRetry(db, `backfill batch of ${label}`, opts, async (lockTimeoutMs) => {
      await db.query("BEGIN");
      try {
        await db.query(`SET LOCAL lock_timeout = ${lockTimeoutMs}`);
        for (const sql of batchSessionSql(ctx)) await db.query(sql);
        const { rows } = await db.query<{ scanned: number; updated: number; last: string[] | null }>(prev.lastKey ? nextSql : firstSql, params);
        const r = rows[0];
        const next: BackfillCheckpoint = {
          ...prev,
          lastKey: r.last ?? prev.lastKey,
          rowsScanned: prev.rowsScanned + r.scanned,
          rowsUpdated: prev.rowsUpdated + r.updated,
          done: r.scanned < batchSize,
        };
        await db.query(checkpointSql, [idOf(ctx), JSON.stringify(next)]);
        await db.query("COMMIT");
        return next;
      } catch (err) {
        await db.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
    checkpoint = result;
    batches++;
    const elapsed = Date.now() - t0;
    batchSize = nextBatchSize(batchSize, elapsed, b.targetBatchMs, MIN_BATCH, b.maxBatchSize);
    const now = Date.now();
    if (checkpoint.done || now - lastReport >= (opts.progressEveryMs ?? 2000)) {
      lastReport = now;
      opts.log?.(
        progressLine({
          label,
          scanned: checkpoint.rowsScanned,
          scannedThisRun: checkpoint.rowsScanned - scannedBefore,
          updated: checkpoint.rowsUpdated,
          total,
          elapsedMs: Math.max(1, now - began),
          batchSize,
        }),
      );
    }
    if (!checkpoint.done && b.pauseMs > 0) await new Promise((r) => setTimeout(r, b.pauseMs));
  }
  return { checkpoint, batches, elapsedMs: Date.now() - began };
}

function idOf(ctx: PlanContext): string {
  return ctx.names.id;
}
