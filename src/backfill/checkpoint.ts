import type { ClientBase } from "pg";
import { runSteps, type ExecutorOptions } from "../db/executor";
import { saveCheckpoint, type BackfillCheckpoint } from "../db/state";
import type { PlanContext } from "../plan/facts";
import { transaction } from "../plan/step";
import { dropTriggerSql } from "../sql/functions";
import type { BackfillOrder, BackfillSettings } from "../spec";
import type { TimeSpent } from "./progress";
import { collapseParts, type PartCheckpoint } from "./ranges";
import { CLUSTERED_CORRELATION, coverTriggerSql, KEY_CORRELATION_SQL, pageCountSql, tableBytesSql, upperKeySql } from "./sql";

/**
 * The checkpoint in the state row, as both runners (client and in-database) read and write it.
 * The fields past BackfillCheckpoint are optional: a checkpoint written before they existed is a
 * keyset one. `spent` adds up the time of the timed runs (budgeted client runs, every
 * in-database run) and the rows they scanned, for the ETA of the refusals and `pgshift status`.
 */
export interface BudgetedCheckpoint extends BackfillCheckpoint {
  spent?: TimeSpent;
  /** The batch order this backfill started with; it keeps it to the end. */
  order?: "keyset" | "physical";
  /** Physical order: the next page to scan, and the table's pages when it started. */
  page?: number;
  pages?: number;
  /** Who runs the batches now: the in-database procedure stops when this is no longer "database". */
  runner?: "client" | "database";
  /** The adaptive batch size reached (rows; pages in physical order), so a resumed run starts there. */
  batchSize?: number;
  batches?: number;
  /** pg_table_size of the table when the backfill started and when it finished (bloat). */
  tableBytesBefore?: number;
  tableBytesAfter?: number;
  /** VACUUMs the client runner ran (the in-database runner's are its VACUUM job's). */
  vacuums?: number;
  /** Pauses the throttles made before batches (replicas' lag, a long transaction, a slow commit), and their time in all, ms: both runners, every run. */
  pauses?: number;
  pausedMs?: number;
  /**
   * Keyset order: whether the key's first column follows the table's pages (pg_stats.correlation
   * at least CLUSTERED_CORRELATION), read once when the backfill starts. The batches make their
   * passes (backfill.passes) only where it does (passesOf). Absent in a checkpoint from before
   * passes: no.
   */
  keyFollowsPages?: boolean;
  /** A backfill split among workers (backfill.workers > 1): each part's progress; lastKey / page is where the split began. */
  ranges?: PartCheckpoint[];
}

export const EMPTY_CHECKPOINT: BudgetedCheckpoint = { lastKey: null, upperKey: null, rowsUpdated: 0, rowsScanned: 0, done: false };

/**
 * The order a backfill of this table uses: "auto" is physical where the key is one uuid
 * column (random on disk: keyset batches read a page per row), keyset otherwise (a serial key
 * is in insertion order, so keyset batches already read the pages in order).
 */
export function resolveOrder(ctx: PlanContext, order: BackfillOrder): "keyset" | "physical" {
  if (order !== "auto") return order;
  const keys = ctx.facts.table.keyColumns;
  return keys.length === 1 && keys[0].type === "uuid" ? "physical" : "keyset";
}

/**
 * The passes a batch of this backfill makes: backfill.passes (as the spec says now: tuning may
 * change between runs) in physical order, where a batch is whole pages, and in keyset order
 * where the key follows the pages (keyFollowsPages); one otherwise, where every pass would read
 * the batch's pages again and find no room.
 */
export function passesOf(backfill: BackfillSettings, cp: BudgetedCheckpoint): number {
  const passes = backfill.passes ?? 1; // a spec from before backfill.passes
  return cp.order === "physical" || cp.keyFollowsPages === true ? passes : 1;
}

/** Whether the key's first column follows the table's pages: |pg_stats.correlation| >= CLUSTERED_CORRELATION (a serial key); no where the table was never analyzed. */
async function keyFollowsPages(db: ClientBase, ctx: PlanContext): Promise<boolean> {
  const { rows } = await db.query<{ c: number | null }>(KEY_CORRELATION_SQL, [ctx.facts.table.schema, ctx.facts.table.name, ctx.facts.table.keyColumns[0].name]);
  const c = rows[0]?.c ?? null;
  return c !== null && Math.abs(c) >= CLUSTERED_CORRELATION;
}

async function scalar(db: ClientBase, sql: string): Promise<number> {
  const { rows } = await db.query<Record<string, string>>(sql);
  return Number(Object.values(rows[0])[0]);
}

/** Whether the table has the migration's cover trigger now. */
export async function hasCoverTrigger(db: ClientBase, ctx: PlanContext): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = $2`, [ctx.facts.table.qualifiedName, ctx.names.coverTrigger]);
  return rows.length > 0;
}

/**
 * The checkpoint a run starts from: as recorded, or a new one with its bounds (the largest key,
 * or the table's pages once the cover trigger exists: a row moved after that is covered by it)
 * and the table's size. A physical-order backfill (re)creates its cover trigger while unfinished.
 * Saved before the first batch, so both runners and every later run see the same bounds.
 */
export async function prepareCheckpoint(
  db: ClientBase,
  ctx: PlanContext,
  start: BudgetedCheckpoint | null,
  opts: ExecutorOptions & { stateSchema: string; runner: "client" | "database" },
): Promise<BudgetedCheckpoint> {
  const recorded = start ?? EMPTY_CHECKPOINT;
  if (recorded.done) return recorded;
  // a checkpoint of an older pgshift that has a key is keyset; the order never changes midway
  const order = recorded.order ?? (recorded.upperKey ? "keyset" : resolveOrder(ctx, ctx.spec.backfill.order));
  // the in-database procedure walks one range: a split checkpoint comes back to one (nothing missed)
  let cp: BudgetedCheckpoint = { ...(opts.runner === "database" ? collapseParts(recorded) : recorded), order, runner: opts.runner };
  if (order === "physical" && !(await hasCoverTrigger(db, ctx))) {
    await runSteps(db, [transaction("create the cover trigger of the physical-order backfill", ...coverTriggerSql(ctx))], opts);
  }
  if (cp.tableBytesBefore === undefined) cp = { ...cp, tableBytesBefore: await scalar(db, tableBytesSql(ctx)) };
  if (order === "keyset" && cp.keyFollowsPages === undefined) cp = { ...cp, keyFollowsPages: await keyFollowsPages(db, ctx) };
  if (order === "keyset" && !cp.upperKey) {
    const { rows } = await db.query<{ key: string[] }>(upperKeySql(ctx));
    cp = { ...cp, upperKey: rows[0]?.key ?? null, done: rows.length === 0 };
  }
  if (order === "physical" && cp.pages === undefined) {
    const pages = await scalar(db, pageCountSql(ctx));
    cp = { ...cp, page: 0, pages, done: pages === 0 };
  }
  if (cp.done) cp = { ...cp, tableBytesAfter: cp.tableBytesBefore };
  await saveCheckpoint(db, opts.stateSchema, ctx.names.id, cp);
  return cp;
}

/**
 * After the backfill finished: the cover trigger goes (rows that move now carry a filled
 * shadow) and the table's size is recorded once. Idempotent; returns the checkpoint as saved.
 */
export async function finishCheckpoint(db: ClientBase, ctx: PlanContext, cp: BudgetedCheckpoint, opts: ExecutorOptions & { stateSchema: string }, recordSize = true): Promise<BudgetedCheckpoint> {
  if (await hasCoverTrigger(db, ctx)) {
    await runSteps(db, [transaction("drop the cover trigger of the physical-order backfill", dropTriggerSql(ctx, ctx.names.coverTrigger))], opts);
  }
  if (cp.tableBytesAfter !== undefined || !recordSize) return cp;
  const done = { ...cp, tableBytesAfter: await scalar(db, tableBytesSql(ctx)) };
  await saveCheckpoint(db, opts.stateSchema, ctx.names.id, done);
  return done;
}
