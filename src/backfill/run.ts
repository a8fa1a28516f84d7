import type { ClientBase } from "pg";
import { withLockRetry, type ExecutorOptions } from "../db/executor";
import { saveCheckpoint, type BackfillCheckpoint } from "../db/state";
import { saveCheckpointSql } from "../sql/state";
import type { PlanContext } from "../plan/facts";
import { budgetStopLine, progressLine, type TimeSpent } from "./progress";
import { batchSessionSql, batchSql, upperKeySql } from "./sql";
import { loadPause, nextBatchSize, type DatabaseLoad } from "./throttle";

/**
 * The checkpoint as a time-budgeted backfill stores it: `spent` adds up the time of the runs
 * with backfill.maxDurationMs and the rows they scanned, for the estimate of how many more
 * deploys it takes (the cutover's refusal, the budget's log line). Without a budget the
 * checkpoint keeps exactly the fields of BackfillCheckpoint.
 */
export interface BudgetedCheckpoint extends BackfillCheckpoint {
  spent?: TimeSpent;
}

export interface BackfillResult {
  checkpoint: BudgetedCheckpoint;
  batches: number;
  elapsedMs: number;
  /** Why it returned unfinished: the time budget ran out, or maxBatches was reached; null when done. */
  stoppedBy: "budget" | "maxBatches" | null;
  /** Estimated rows of the table (pg_class.reltuples or count(*)); null when it had nothing left to do. */
  total: number | null;
  /** Rows scanned by this run. */
  scannedThisRun: number;
}

export interface BackfillRunOptions extends ExecutorOptions {
  stateSchema: string;
  /** Progress lines at most this often, ms. Default 2000. */
  progressEveryMs?: number;
  /** Stop after this many batches (tests of resume). */
  maxBatches?: number;
}

const MIN_BATCH = 100;

/** pg_class.reltuples of `table` (quoted, qualified), or null before the table was ever analyzed. Cheap. */
export async function reltuples(db: ClientBase, table: string): Promise<number | null> {
  const { rows } = await db.query<{ n: string }>(`SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass($1)`, [table]);
  const estimate = Number(rows[0]?.n ?? -1);
  return estimate > 0 ? estimate : null;
}

async function estimateRows(db: ClientBase, table: string): Promise<number> {
  const estimate = await reltuples(db, table);
  if (estimate !== null) return estimate;
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
 *
 * With backfill.maxDurationMs it stops once the budget is used up: never within a batch (the
 * batch in flight commits with its checkpoint), and only after at least one batch, so every
 * run makes progress. It then logs how far it got and returns unfinished (stoppedBy "budget").
 */
export async function runBackfill(db: ClientBase, ctx: PlanContext, start: BackfillCheckpoint | null, opts: BackfillRunOptions): Promise<BackfillResult> {
  const t = ctx.facts.table;
  const b = ctx.spec.backfill;
  const label = `${t.qualifiedName}.${ctx.facts.table.column.name}`;
  let checkpoint: BudgetedCheckpoint = start ?? { lastKey: null, upperKey: null, rowsUpdated: 0, rowsScanned: 0, done: false };
  const began = Date.now();
  const budgetMs = b.maxDurationMs;
  const finished = (total: number | null): BackfillResult => ({ checkpoint, batches: 0, elapsedMs: Date.now() - began, stoppedBy: null, total, scannedThisRun: 0 });
  if (checkpoint.done) return { ...finished(null), elapsedMs: 0 };
  if (!checkpoint.upperKey) {
    const { rows } = await db.query<{ key: string[] }>(upperKeySql(ctx));
    checkpoint = { ...checkpoint, upperKey: rows[0]?.key ?? null, done: rows.length === 0 };
    await saveCheckpoint(db, opts.stateSchema, idOf(ctx), checkpoint);
    if (checkpoint.done) return finished(0);
  }
  const total = await estimateRows(db, t.qualifiedName);
  const firstSql = batchSql(ctx, true);
  const nextSql = batchSql(ctx, false);
  const checkpointSql = saveCheckpointSql(opts.stateSchema);
  let batchSize = b.batchSize;
  let batches = 0;
  let lastReport = 0;
  const scannedBefore = checkpoint.rowsScanned;
  const spentBefore: TimeSpent = checkpoint.spent ?? { ms: 0, rows: 0 };
  let stoppedBy: BackfillResult["stoppedBy"] = null;
  // the budget is checked between batches only; a run that was never paused does one batch at least
  const budgetUsedUp = () => budgetMs !== undefined && Date.now() - began >= budgetMs;
  opts.log?.(
    `pgshift: backfill ${label}: starting${checkpoint.lastKey ? ` from checkpoint after key (${checkpoint.lastKey.join(", ")})` : ""}, about ${total.toLocaleString("en-US")} rows` +
      (budgetMs !== undefined ? `, time budget ${budgetMs} ms (backfill.maxDurationMs)` : ""),
  );
  while (!checkpoint.done) {
    if (opts.maxBatches !== undefined && batches >= opts.maxBatches) {
      stoppedBy = "maxBatches";
      break;
    }
    if (batches > 0 && budgetUsedUp()) {
      stoppedBy = "budget";
      break;
    }
    const pause = loadPause(await databaseLoad(db), b.maxReplicationLagMs, b.maxTransactionAgeMs);
    if (pause.pauseMs > 0) {
      if (budgetUsedUp()) {
        // throttled through the whole budget: stop rather than wait past it
        stoppedBy = "budget";
        break;
      }
      const wait = budgetMs === undefined ? pause.pauseMs : Math.max(1, Math.min(pause.pauseMs, budgetMs - (Date.now() - began)));
      opts.log?.(`pgshift: backfill ${label}: ${pause.reason}, pausing ${wait} ms`);
      await new Promise((r) => setTimeout(r, wait));
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
          ...(budgetMs !== undefined
            ? { spent: { ms: spentBefore.ms + (Date.now() - began), rows: spentBefore.rows + (prev.rowsScanned + r.scanned - scannedBefore) } }
            : {}),
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
    if (!checkpoint.done && b.pauseMs > 0 && !budgetUsedUp()) await new Promise((r) => setTimeout(r, b.pauseMs));
  }
  const elapsedMs = Date.now() - began;
  const scannedThisRun = checkpoint.rowsScanned - scannedBefore;
  if (stoppedBy === "budget") {
    opts.log?.(
      budgetStopLine({
        label,
        budgetMs: budgetMs!,
        scanned: checkpoint.rowsScanned,
        scannedThisRun,
        total,
        elapsedMs,
        lastKey: checkpoint.lastKey,
        spent: checkpoint.spent,
      }),
    );
  }
  return { checkpoint, batches, elapsedMs, stoppedBy, total, scannedThisRun };
}

function idOf(ctx: PlanContext): string {
  return ctx.names.id;
}
