import type { ClientBase } from "pg";
import { reltuples } from "../catalog/tableSize";
import { withLockRetry, type ExecutorOptions } from "../db/executor";
import { saveCheckpoint } from "../db/state";
import { countPauseSql, countVacuumSql, moveCheckpointSql } from "../sql/state";
import type { PlanContext } from "../plan/facts";
import { finishCheckpoint, passesOf, prepareCheckpoint, type BudgetedCheckpoint } from "./checkpoint";
import { budgetStopLine, progressLine, sizeLine, type TimeSpent } from "./progress";
import { keysetParts, physicalParts, sameKey, splitPoints, type PartCheckpoint } from "./ranges";
import { batchBoundSql, batchSessionSql, batchUpdateSql, commitProbeSql, DATABASE_LOAD_SQL, physicalBatchSql, physicalPassSql, sampleKeysSql, vacuumSql } from "./sql";
import { vacuumEveryRowsOf } from "./vacuumCadence";
import { LOAD_CHECK_EVERY_MS, loadPause, nextBatchSize, type DatabaseLoad, type ThrottleSettings } from "./throttle";

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
  /** Connections that ran batches at once (backfill.workers, at most the parts left). */
  workers: number;
}

export interface BackfillRunOptions extends ExecutorOptions {
  stateSchema: string;
  /** Progress lines at most this often, ms. Default 2000. */
  progressEveryMs?: number;
  /** Stop after this many batches (tests of resume). */
  maxBatches?: number;
  /** Opens another connection to the database, for the workers past the first (backfill.workers); without it one worker runs. */
  connect?: () => Promise<ClientBase & { end(): Promise<void> }>;
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
  /** The passes before the last (backfill.passes): the share of each page's rows. */
  pass: { first: string; next: string };
  physical: string;
  physicalPass: string;
  passes: number;
}

/**
 * The statements of a part's next batch, run inside its transaction (`commit` commits it and
 * begins the next, between the batch's passes), and where the part is after it.
 */
interface BatchPlan {
  run(db: ClientBase, commit: () => Promise<void>): Promise<BatchResult>;
  next(r: BatchResult): PartCheckpoint;
}

/**
 * The passes before a batch's last (backfill.passes), pass 1 to passes - 1, each committed
 * before the next begins (a pass finds room only where the one before it has committed).
 * Returns the rows they updated, and what the first one scanned (physical order counts there).
 */
async function runPasses(db: ClientBase, sql: string, params: unknown[], passes: number, commit: () => Promise<void>): Promise<{ updated: number; scanned: number | null }> {
  let updated = 0;
  let scanned: number | null = null;
  for (let pass = 1; pass < passes; pass++) {
    const r = (await db.query<{ updated: number; scanned?: number }>(sql, [...params, pass])).rows[0];
    updated += r.updated;
    scanned ??= r.scanned ?? null;
    await commit();
  }
  return { updated, scanned };
}

/** A part's next batch: the keys after its lastKey up to its upperKey, or the pages from its page up to its end. */
function planBatch(part: PartCheckpoint, size: number, sql: BatchSql): BatchPlan {
  if (part.page !== undefined) {
    const from = part.page;
    const to = Math.min(part.end ?? 0, from + size);
    const pages = [`(${from},0)`, `(${to},0)`];
    return {
      run: async (db, commit) => {
        const passed = await runPasses(db, sql.physicalPass, pages, sql.passes, commit);
        const r = (await db.query<BatchResult>(sql.physical, pages)).rows[0];
        return { scanned: passed.scanned ?? r.scanned, updated: passed.updated + r.updated };
      },
      next: () => ({ ...part, page: to, done: to >= (part.end ?? 0), batchSize: size }),
    };
  }
  const lower = part.lastKey ?? [];
  const variant = part.lastKey ? "next" : "first";
  return {
    run: async (db, commit) => {
      const bound = (await db.query<{ scanned: number; last: string[] | null; from_tid?: string; to_tid?: string }>(sql.bound[variant], [...(part.upperKey as string[]), size, ...lower])).rows[0];
      const { scanned, last } = bound;
      if (!last) return { scanned, updated: 0, last };
      const passed = await runPasses(db, sql.pass[variant], [...last, ...lower, bound.from_tid, bound.to_tid], sql.passes, commit);
      const { updated } = (await db.query<{ updated: number }>(sql.update[variant], [...last, ...lower])).rows[0];
      return { scanned, updated: passed.updated + updated, last };
    },
    // done when the batch came short of its size or ended on the part's upper key: a batch that
    // ended there exactly would otherwise leave one more, empty, batch to the next run (a whole
    // `pulumi up` under a time budget that makes no progress but to say so)
    next: (r) => ({ ...part, lastKey: r.last ?? part.lastKey, done: r.scanned < size || sameKey(r.last, part.upperKey), batchSize: size }),
  };
}

/** The one-worker backfill's progress as a part: the checkpoint's own fields (the pages run to the table's end). */
function wholePart(cp: BudgetedCheckpoint): PartCheckpoint {
  if (cp.order === "physical") return { page: cp.page ?? 0, end: cp.pages, done: cp.done, batchSize: cp.batchSize };
  return { lastKey: cp.lastKey, upperKey: cp.upperKey, done: cp.done, batchSize: cp.batchSize };
}

/** The checkpoint fields a one-worker batch moves: a part's, under the checkpoint's names. */
function wholeFields(part: PartCheckpoint): Partial<BudgetedCheckpoint> {
  const { end: _end, ...fields } = part;
  return fields;
}

/**
 * How many keys to sample to split the keys among workers. A sample of whole pages is as even
 * as the count of pages it reads: 10,000 keys of a narrow table are about 44 pages, and split
 * 30,000 rows off their thirds by more than a sixth in 21 of 2,000 tries (measured on
 * PostgreSQL 15; CI's worker test saw it once). 100,000 reads a table of fewer rows whole (the
 * exact quantiles), and about a thousand pages of a billion-row table, once per split.
 */
const SPLIT_SAMPLE_ROWS = 100_000;

/**
 * Splits what is left of a one-worker checkpoint into `workers` parts, saved before any of
 * them runs: pages into equal runs; keys at the quantiles of a sample of the keys left.
 */
async function splitParts(db: ClientBase, ctx: PlanContext, cp: BudgetedCheckpoint, workers: number, total: number, stateSchema: string): Promise<BudgetedCheckpoint> {
  let ranges: PartCheckpoint[];
  if (cp.order === "physical") {
    ranges = physicalParts(cp, workers);
  } else {
    const percent = Math.min(100, (100 * SPLIT_SAMPLE_ROWS) / Math.max(1, total));
    const params = [percent, ...(cp.upperKey as string[]), ...(cp.lastKey ?? [])];
    const { rows } = await db.query<{ key: string[] }>(sampleKeysSql(ctx, !cp.lastKey), params);
    ranges = keysetParts(cp, splitPoints(rows.map((r) => r.key), workers));
  }
  const split = { ...cp, ranges };
  await saveCheckpoint(db, stateSchema, ctx.names.id, split);
  return split;
}

async function estimateRows(db: ClientBase, table: string): Promise<number> {
  const estimate = await reltuples(db, table);
  if (estimate !== null) return estimate;
  const { rows: counted } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(counted[0].n);
}

/** The throttles' inputs read in one query (the commit's time not yet: commitMs null). */
async function databaseLoad(db: ClientBase): Promise<DatabaseLoad> {
  const { rows } = await db.query<{ lag: number | null; age: number | null }>(DATABASE_LOAD_SQL);
  return { replicationLagMs: rows[0]?.lag ?? 0, oldestTransactionMs: rows[0]?.age ?? 0, commitMs: null };
}

/** How long `probe` (commitProbeSql) takes to commit with synchronous_commit on, ms. */
async function commitMsOf(db: ClientBase, probe: string): Promise<number> {
  const t0 = performance.now();
  await db.query(`BEGIN; SET LOCAL synchronous_commit = on; ${probe}; COMMIT`).catch(async (err) => {
    await db.query("ROLLBACK").catch(() => undefined);
    throw err;
  });
  return performance.now() - t0;
}

/** Whether to pause before the next batch: the commit probe runs only where the other throttles let the batch run, as in the procedure. */
async function throttlePause(db: ClientBase, probe: string | null, b: ThrottleSettings): Promise<ReturnType<typeof loadPause>> {
  const load = await databaseLoad(db);
  const pause = loadPause(load, b);
  if (pause.pauseMs > 0 || probe === null) return pause;
  return loadPause({ ...load, commitMs: await commitMsOf(db, probe) }, b);
}

/** What the workers of one run share: the checkpoint as last committed, the counts, the throttles' and the VACUUM's timing. */
interface Walk {
  checkpoint: BudgetedCheckpoint;
  /** Batches begun (maxBatches counts these, so workers never overshoot it) and committed. */
  started: number;
  batches: number;
  stoppedBy: BackfillResult["stoppedBy"];
  failed: unknown;
  loadCheckedAt: number;
  vacuumedAt: number;
  vacuuming: boolean;
  lastReport: number;
}

/**
 * Fills the shadow column batch after batch, resuming from the checkpoint in the state table.
 * Each batch's last pass and its checkpoint commit together (the passes before it commit on
 * their own and only fill rows the last one would), so a kill -9 at any moment loses nothing
 * and redoes at most one batch per worker. It only walks keys up to the largest key at start (pages
 * up to the table's end at start): rows inserted later already got their shadow from the
 * trigger, so it ends under a steady insert load.
 *
 * With backfill.workers > 1 (and `opts.connect` to open their connections) the keys (pages)
 * left are split into as many parts, saved in the checkpoint before any runs, and each worker
 * walks one part on its own connection: the batches of the parts run at once, so the backfill
 * is not bound to one of the server's cores. The throttles, the time budget and the VACUUMs are
 * shared; a part keeps its own adaptive batch size.
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
  if (start?.done) return { checkpoint: await finishCheckpoint(db, ctx, start, opts, false), batches: 0, elapsedMs: 0, stoppedBy: null, total: null, scannedThisRun: 0, workers: 0 };
  let checkpoint = await prepareCheckpoint(db, ctx, start, { ...opts, runner: "client" });
  if (checkpoint.done) {
    checkpoint = await finishCheckpoint(db, ctx, checkpoint, opts);
    return { checkpoint, batches: 0, elapsedMs: Date.now() - began, stoppedBy: null, total: 0, scannedThisRun: 0, workers: 0 };
  }
  const total = await estimateRows(db, t.qualifiedName);
  const vacuumEvery = vacuumEveryRowsOf(b.vacuumEveryRows, total);
  const vacuumSetting = `backfill.vacuumEveryRows ${JSON.stringify(b.vacuumEveryRows)}`;
  const passes = passesOf(b, checkpoint);
  const sql: BatchSql = {
    bound: { first: batchBoundSql(ctx, true, passes > 1), next: batchBoundSql(ctx, false, passes > 1) },
    update: { first: batchUpdateSql(ctx, true), next: batchUpdateSql(ctx, false) },
    pass: { first: batchUpdateSql(ctx, true, passes), next: batchUpdateSql(ctx, false, passes) },
    physical: physicalBatchSql(ctx),
    physicalPass: physicalPassSql(ctx, passes),
    passes,
  };
  const physical = checkpoint.order === "physical";
  const bounds = await batchBounds(db, ctx, physical);
  const wanted = opts.connect ? b.workers : 1;
  const resumed = checkpoint.ranges !== undefined;
  if (wanted > 1 && !checkpoint.ranges) checkpoint = await splitParts(db, ctx, checkpoint, wanted, total, opts.stateSchema);
  const scannedBefore = checkpoint.rowsScanned;
  const spentBefore: TimeSpent = checkpoint.spent ?? { ms: 0, rows: 0 };
  /** A budgeted run's time spent so far, with `rowsScanned` the checkpoint's total by then (nothing without a budget). */
  const spentBy = (rowsScanned: number) => (budgetMs === undefined ? {} : { spent: { ms: spentBefore.ms + (Date.now() - began), rows: spentBefore.rows + (rowsScanned - scannedBefore) } });
  const probe = b.maxCommitLatencyMs > 0 ? commitProbeSql(opts.stateSchema, idOf(ctx)) : null;
  const moveSql = { whole: moveCheckpointSql(opts.stateSchema, false), part: moveCheckpointSql(opts.stateSchema, true) };
  const walk: Walk = { checkpoint, started: 0, batches: 0, stoppedBy: null, failed: null, loadCheckedAt: -Infinity, vacuumedAt: checkpoint.rowsUpdated, vacuuming: false, lastReport: 0 };
  // the budget is checked between batches only; a run that was never paused does one batch at least
  const budgetUsedUp = () => budgetMs !== undefined && Date.now() - began >= budgetMs;
  const stopping = () => walk.failed !== null || walk.stoppedBy !== null;
  const parts = checkpoint.ranges;
  const from = physical ? (checkpoint.page ? ` from checkpoint at page ${checkpoint.page} of ${checkpoint.pages}` : `, ${checkpoint.pages} pages in physical order`) : checkpoint.lastKey ? ` from checkpoint after key (${checkpoint.lastKey.join(", ")})` : "";
  const left = parts?.filter((p) => !p.done).length ?? 0;
  const on = `on ${Math.min(wanted, left)} worker${Math.min(wanted, left) === 1 ? "" : "s"} (backfill.workers ${b.workers})`;
  const split = !parts ? from : resumed ? ` from checkpoint, ${left} of ${parts.length} parts left, ${on}` : `${from}, in ${parts.length} parts ${on}`;
  opts.log?.(
    `pgshift: backfill ${label}: starting${split}, about ${total.toLocaleString("en-US")} rows` +
      (vacuumEvery > 0 ? `, VACUUM every ${vacuumEvery.toLocaleString("en-US")} updated rows (${vacuumSetting})` : "") +
      (budgetMs !== undefined ? `, time budget ${budgetMs} ms (backfill.maxDurationMs)` : ""),
  );

  /** Waits out the throttles before a batch (shared: one read a second for every worker); false when the run should stop instead. */
  const mayRun = async (worker: ClientBase): Promise<boolean> => {
    for (;;) {
      if (stopping()) return false;
      if (opts.maxBatches !== undefined && walk.started >= opts.maxBatches) {
        walk.stoppedBy ??= "maxBatches";
        return false;
      }
      if (walk.batches > 0 && budgetUsedUp()) {
        walk.stoppedBy ??= "budget";
        return false;
      }
      if (Date.now() - walk.loadCheckedAt >= LOAD_CHECK_EVERY_MS) {
        walk.loadCheckedAt = Date.now();
        const pause = await throttlePause(worker, probe, b);
        if (pause.pauseMs > 0) {
          walk.loadCheckedAt = -Infinity; // after a pause, look again before the next batch
          if (budgetUsedUp()) {
            // throttled through the whole budget: stop rather than wait past it
            walk.stoppedBy ??= "budget";
            return false;
          }
          const wait = budgetMs === undefined ? pause.pauseMs : Math.max(1, Math.min(pause.pauseMs, budgetMs - (Date.now() - began)));
          opts.log?.(`pgshift: backfill ${label}: ${pause.reason}, pausing ${wait} ms`);
          walk.checkpoint = (await worker.query<{ backfill: BudgetedCheckpoint }>(countPauseSql(opts.stateSchema), [idOf(ctx), wait])).rows[0].backfill;
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        // another worker may have stopped the run meanwhile
        if (stopping()) return false;
      }
      walk.started++;
      return true;
    }
  };

  /** One batch of a part (`index` null: the one-worker walk), its last pass with its checkpoint in one transaction; the part after it. */
  const runBatch = async (worker: ClientBase, part: PartCheckpoint, index: number | null, size: number): Promise<PartCheckpoint> => {
    const batch = planBatch(part, size, sql);
    return withLockRetry(worker, `backfill batch of ${label}`, opts, async (lockTimeoutMs) => {
      // one round trip for the transaction's start (and, between the batch's passes, for a commit and the next start): with short batches every round trip shows
      const begin = ["BEGIN", `SET LOCAL lock_timeout = ${lockTimeoutMs}`, ...batchSessionSql(ctx)].join("; ");
      try {
        await worker.query(begin);
        const r = await batch.run(worker, async () => {
          await worker.query(`COMMIT; ${begin}`);
        });
        const moved = batch.next(r);
        let fields: object = moved;
        if (index === null) {
          fields = { ...wholeFields(moved), ...spentBy(walk.checkpoint.rowsScanned + r.scanned) };
        }
        const { rows } = await worker.query<{ backfill: BudgetedCheckpoint }>(index === null ? moveSql.whole : moveSql.part, [idOf(ctx), JSON.stringify(fields), r.scanned, r.updated, ...(index === null ? [] : [index])]);
        // the batch that finishes waits for its flush: "done" is what the next stages act on
        if (rows[0].backfill.done) await worker.query("SET LOCAL synchronous_commit = on");
        await worker.query("COMMIT");
        walk.checkpoint = rows[0].backfill;
        return moved;
      } catch (err) {
        await worker.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
  };

  /** After a batch: a VACUUM every vacuumEvery updated rows (backfill.vacuumEveryRows) (one worker runs it, the others go on), and the progress line. */
  const afterBatch = async (worker: ClientBase, batchSize: number) => {
    const cp = walk.checkpoint;
    if (!cp.done && !walk.vacuuming && vacuumEvery > 0 && cp.rowsUpdated - walk.vacuumedAt >= vacuumEvery) {
      // every backfilled row left a dead version: VACUUM makes the space reusable for the next batches
      walk.vacuuming = true;
      walk.vacuumedAt = cp.rowsUpdated;
      const v0 = Date.now();
      try {
        await worker.query(vacuumSql(ctx));
        const { rows } = await worker.query<{ backfill: BudgetedCheckpoint }>(countVacuumSql(opts.stateSchema), [idOf(ctx)]);
        walk.checkpoint = rows[0].backfill;
      } finally {
        walk.vacuuming = false;
      }
      opts.log?.(`pgshift: backfill ${label}: VACUUM after ${walk.vacuumedAt.toLocaleString("en-US")} updated rows took ${Date.now() - v0} ms (${vacuumSetting})`);
    }
    const now = Date.now();
    if (walk.checkpoint.done || now - walk.lastReport >= (opts.progressEveryMs ?? 2000)) {
      walk.lastReport = now;
      opts.log?.(
        progressLine({
          label,
          scanned: walk.checkpoint.rowsScanned,
          scannedThisRun: walk.checkpoint.rowsScanned - scannedBefore,
          updated: walk.checkpoint.rowsUpdated,
          total,
          elapsedMs: Math.max(1, now - began),
          batchSize: physical ? batchSize * bounds.perPage : batchSize,
        }),
      );
    }
  };

  /** Walks one part to its end (or until the run stops), batch after batch on `worker`. */
  const walkPart = async (worker: ClientBase, start: PartCheckpoint, index: number | null) => {
    let part = start;
    let batchSize = Math.min(bounds.max, part.batchSize ?? bounds.initial);
    while (!part.done && (await mayRun(worker))) {
      const t0 = Date.now();
      part = await runBatch(worker, part, index, batchSize);
      walk.batches++;
      batchSize = nextBatchSize(batchSize, Date.now() - t0, b.targetBatchMs, bounds.min, bounds.max);
      await afterBatch(worker, batchSize);
      if (!part.done && b.pauseMs > 0 && !budgetUsedUp()) await new Promise((r) => setTimeout(r, b.pauseMs));
    }
  };

  let workers = 1;
  if (!parts) {
    await walkPart(db, wholePart(checkpoint), null);
  } else {
    workers = await walkParts(db, parts, wanted, opts.connect, walkPart, (err) => (walk.failed ??= err));
    if (walk.failed !== null) throw walk.failed;
    // every part done: the backfill is, in one synchronous commit; the time spent of a budgeted run is added once, at its end
    const doneNow = walk.checkpoint.ranges?.every((p) => p.done) ?? false;
    if (doneNow || budgetMs !== undefined) {
      walk.checkpoint = { ...walk.checkpoint, ...spentBy(walk.checkpoint.rowsScanned), done: doneNow };
      await saveCheckpoint(db, opts.stateSchema, ctx.names.id, walk.checkpoint);
    }
  }
  checkpoint = walk.checkpoint;
  if (checkpoint.done) {
    checkpoint = await finishCheckpoint(db, ctx, checkpoint, opts);
    if (checkpoint.tableBytesBefore !== undefined && checkpoint.tableBytesAfter !== undefined) {
      opts.log?.(sizeLine(label, checkpoint.tableBytesBefore, checkpoint.tableBytesAfter, checkpoint.vacuums ?? 0));
    }
  }
  const elapsedMs = Date.now() - began;
  const scannedThisRun = checkpoint.rowsScanned - scannedBefore;
  if (walk.stoppedBy === "budget") {
    opts.log?.(
      budgetStopLine({
        label,
        budgetMs: budgetMs!,
        scanned: checkpoint.rowsScanned,
        scannedThisRun,
        total,
        elapsedMs,
        lastKey: parts ? null : physical ? [`page ${checkpoint.page}`] : checkpoint.lastKey,
        spent: checkpoint.spent,
      }),
    );
  }
  return { checkpoint, batches: walk.batches, elapsedMs, stoppedBy: walk.stoppedBy, total, scannedThisRun, workers };
}

/**
 * Runs the parts not done on up to `workers` connections: `db` and more from `connect`, each
 * taking the next part left when it finished one. A worker that fails stops the others at
 * their next batch (`fail`); the connections it opened are closed however it ends. Returns
 * how many worked.
 */
async function walkParts(
  db: ClientBase,
  parts: PartCheckpoint[],
  workers: number,
  connect: BackfillRunOptions["connect"],
  walkPart: (worker: ClientBase, part: PartCheckpoint, index: number) => Promise<void>,
  fail: (err: unknown) => void,
): Promise<number> {
  const left = parts.map((p, i) => ({ p, i })).filter(({ p }) => !p.done);
  const opened: Array<ClientBase & { end(): Promise<void> }> = [];
  const work = async (worker: ClientBase) => {
    for (let next = left.shift(); next; next = left.shift()) await walkPart(worker, next.p, next.i);
  };
  const runs = [work(db).catch(fail)];
  try {
    for (let w = 1; w < workers && connect && left.length > 0; w++) {
      const c = await connect();
      opened.push(c);
      runs.push(work(c).catch(fail));
    }
  } catch (err) {
    fail(err);
  } finally {
    await Promise.all(runs);
    await Promise.all(opened.map((c) => c.end().catch(() => undefined)));
  }
  return runs.length;
}

function idOf(ctx: PlanContext): string {
  return ctx.names.id;
}
