import type { ClientBase } from "pg";
import { withLockRetry, type ExecutorOptions } from "../db/executor";
import { saveCheckpointSql } from "../sql/state";
import type { PlanContext } from "../plan/facts";
import { finishCheckpoint, prepareCheckpoint, type BudgetedCheckpoint } from "./checkpoint";
import { budgetStopLine, progressLine, sizeLine, type TimeSpent } from "./progress";
import { batchBoundSql, batchSessionSql, batchUpdateSql, DATABASE_LOAD_SQL, physicalBatchSql } from "./sql";
import { LOAD_CHECK_EVERY_MS, loadPause, nextBatchSize, type DatabaseLoad } from "./throttle";

export type { BudgetedCheckpoint } from "./checkpoint";

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

/** pg_class.reltuples / relpages: rows per page, to size a physical batch (in pages) from backfill.batchSize (rows). */
async function rowsPerPage(db: ClientBase, table: string): Promise<number> {
  const { rows } = await db.query<{ r: number | null }>(`SELECT (reltuples / nullif(relpages, 0))::float8 AS r FROM pg_class WHERE oid = to_regclass($1)`, [table]);
  const r = rows[0]?.r ?? null;
  return r !== null && r > 0 ? r : 50;
}

/**
 * The adaptive batch size's unit and bounds for both runners: rows in keyset order; pages in
 * physical order, converted from backfill.batchSize / maxBatchSize (rows) at the table's density.
 */
export async function batchBounds(db: ClientBase, ctx: PlanContext, physical: boolean): Promise<{ perPage: number; min: number; max: number; initial: number }> {
  const b = ctx.spec.backfill;
  const perPage = physical ? await rowsPerPage(db, ctx.facts.table.qualifiedName) : 1;
  const min = physical ? 1 : MIN_BATCH;
  return { perPage, min, max: Math.max(min, Math.round(b.maxBatchSize / perPage)), initial: Math.max(min, Math.round(b.batchSize / perPage)) };
}

interface BatchResult {
  scanned: number;
  updated: number;
  last?: string[] | null;
}

interface BatchSql {
  bound: { first: string; next: string };
  update: { first: string; next: string };
  physical: string;
}

/** The statements of the next batch, run inside its transaction, and how a result moves the checkpoint on. */
interface BatchPlan {
  run(db: ClientBase): Promise<BatchResult>;
  next(prev: BudgetedCheckpoint, r: BatchResult): BudgetedCheckpoint;
}

function planBatch(cp: BudgetedCheckpoint, size: number, sql: BatchSql): BatchPlan {
  const counted = (prev: BudgetedCheckpoint, r: BatchResult) => ({
    ...prev,
    rowsScanned: prev.rowsScanned + r.scanned,
    rowsUpdated: prev.rowsUpdated + r.updated,
    batches: (prev.batches ?? 0) + 1,
    batchSize: size,
  });
  if (cp.order === "physical") {
    const from = cp.page ?? 0;
    const to = from + size;
    return {
      run: async (db) => (await db.query<BatchResult>(sql.physical, [`(${from},0)`, `(${to},0)`])).rows[0],
      next: (prev, r) => ({ ...counted(prev, r), page: to, done: to >= (prev.pages ?? 0) }),
    };
  }
  const lower = cp.lastKey ?? [];
  const variant = cp.lastKey ? "next" : "first";
  return {
    run: async (db) => {
      const { scanned, last } = (await db.query<{ scanned: number; last: string[] | null }>(sql.bound[variant], [...(cp.upperKey as string[]), size, ...lower])).rows[0];
      if (!last) return { scanned, updated: 0, last };
      const { updated } = (await db.query<{ updated: number }>(sql.update[variant], [...last, ...lower])).rows[0];
      return { scanned, updated, last };
    },
    next: (prev, r) => ({ ...counted(prev, r), lastKey: r.last ?? prev.lastKey, done: r.scanned < size }),
  };
}

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
  const { rows } = await db.query<{ lag: number | null; age: number | null }>(DATABASE_LOAD_SQL);
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
export async function runBackfill(db: ClientBase, ctx: PlanContext, start: BudgetedCheckpoint | null, opts: BackfillRunOptions): Promise<BackfillResult> {
  const t = ctx.facts.table;
  const b = ctx.spec.backfill;
  const label = `${t.qualifiedName}.${ctx.facts.table.column.name}`;
  const began = Date.now();
  const budgetMs = b.maxDurationMs;
  // finished: only what finishing leaves (a cover trigger a refresh found still there)
  if (start?.done) return { checkpoint: await finishCheckpoint(db, ctx, start, opts, false), batches: 0, elapsedMs: 0, stoppedBy: null, total: null, scannedThisRun: 0 };
  let checkpoint = await prepareCheckpoint(db, ctx, start, { ...opts, runner: "client" });
  if (checkpoint.done) {
    checkpoint = await finishCheckpoint(db, ctx, checkpoint, opts);
    return { checkpoint, batches: 0, elapsedMs: Date.now() - began, stoppedBy: null, total: 0, scannedThisRun: 0 };
  }
  const total = await estimateRows(db, t.qualifiedName);
  const sql: BatchSql = {
    bound: { first: batchBoundSql(ctx, true), next: batchBoundSql(ctx, false) },
    update: { first: batchUpdateSql(ctx, true), next: batchUpdateSql(ctx, false) },
    physical: physicalBatchSql(ctx),
  };
  const checkpointSql = saveCheckpointSql(opts.stateSchema);
  const physical = checkpoint.order === "physical";
  const { perPage, min: minSize, max: maxSize, initial } = await batchBounds(db, ctx, physical);
  let batchSize = Math.min(maxSize, checkpoint.batchSize ?? initial);
  let batches = 0;
  let lastReport = 0;
  const scannedBefore = checkpoint.rowsScanned;
  let vacuumedAt = checkpoint.rowsUpdated;
  const spentBefore: TimeSpent = checkpoint.spent ?? { ms: 0, rows: 0 };
  let stoppedBy: BackfillResult["stoppedBy"] = null;
  let loadCheckedAt = -Infinity;
  // the budget is checked between batches only; a run that was never paused does one batch at least
  const budgetUsedUp = () => budgetMs !== undefined && Date.now() - began >= budgetMs;
  const from = physical ? (checkpoint.page ? ` from checkpoint at page ${checkpoint.page} of ${checkpoint.pages}` : `, ${checkpoint.pages} pages in physical order`) : checkpoint.lastKey ? ` from checkpoint after key (${checkpoint.lastKey.join(", ")})` : "";
  opts.log?.(
    `pgshift: backfill ${label}: starting${from}, about ${total.toLocaleString("en-US")} rows` +
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
    const due = Date.now() - loadCheckedAt >= LOAD_CHECK_EVERY_MS;
    const pause = due ? loadPause(await databaseLoad(db), b.maxReplicationLagMs, b.maxTransactionAgeMs) : { pauseMs: 0, reason: null };
    if (due) loadCheckedAt = Date.now();
    if (pause.pauseMs > 0) {
      loadCheckedAt = -Infinity; // after a pause, look again before the next batch
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
    const batch = planBatch(checkpoint, batchSize, sql);
    const t0 = Date.now();
    const prev = checkpoint;
    const result = await withLockRetry(db, `backfill batch of ${label}`, opts, async (lockTimeoutMs) => {
      // one round trip for the transaction's start: with short batches every round trip shows
      try {
        await db.query(["BEGIN", `SET LOCAL lock_timeout = ${lockTimeoutMs}`, ...batchSessionSql(ctx)].join("; "));
        const counted = batch.next(prev, await batch.run(db));
        const next: BudgetedCheckpoint =
          budgetMs === undefined ? counted : { ...counted, spent: { ms: spentBefore.ms + (Date.now() - began), rows: spentBefore.rows + (counted.rowsScanned - scannedBefore) } };
        await db.query(checkpointSql, [idOf(ctx), JSON.stringify(next)]);
        // the batch that finishes waits for its flush: "done" is what the next stages act on
        if (next.done) await db.query("SET LOCAL synchronous_commit = on");
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
    batchSize = nextBatchSize(batchSize, elapsed, b.targetBatchMs, minSize, maxSize);
    if (!checkpoint.done && b.vacuumEveryRows > 0 && checkpoint.rowsUpdated - vacuumedAt >= b.vacuumEveryRows) {
      // every backfilled row left a dead version: VACUUM makes the space reusable for the next batches
      const v0 = Date.now();
      await db.query(`VACUUM ${t.qualifiedName}`);
      vacuumedAt = checkpoint.rowsUpdated;
      checkpoint = { ...checkpoint, vacuums: (checkpoint.vacuums ?? 0) + 1 };
      await db.query(checkpointSql, [idOf(ctx), JSON.stringify(checkpoint)]);
      opts.log?.(`pgshift: backfill ${label}: VACUUM after ${vacuumedAt.toLocaleString("en-US")} updated rows took ${Date.now() - v0} ms (backfill.vacuumEveryRows ${b.vacuumEveryRows})`);
    }
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
          batchSize: physical ? batchSize * perPage : batchSize,
        }),
      );
    }
    if (!checkpoint.done && b.pauseMs > 0 && !budgetUsedUp()) await new Promise((r) => setTimeout(r, b.pauseMs));
  }
  if (checkpoint.done) {
    checkpoint = await finishCheckpoint(db, ctx, checkpoint, opts);
    if (checkpoint.tableBytesBefore !== undefined && checkpoint.tableBytesAfter !== undefined) {
      opts.log?.(sizeLine(label, checkpoint.tableBytesBefore, checkpoint.tableBytesAfter, checkpoint.vacuums ?? 0));
    }
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
        lastKey: physical ? [`page ${checkpoint.page}`] : checkpoint.lastKey,
        spent: checkpoint.spent,
      }),
    );
  }
  return { checkpoint, batches, elapsedMs, stoppedBy, total, scannedThisRun };
}

function idOf(ctx: PlanContext): string {
  return ctx.names.id;
}
