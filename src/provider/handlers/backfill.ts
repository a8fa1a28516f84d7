import type { BudgetedCheckpoint } from "../../backfill/checkpoint";
import { hasCoverTrigger } from "../../backfill/checkpoint";
import { backfillJobStatus } from "../../backfill/cron";
import { chooseRunner, finishDatabaseBackfill, handOverToClient, removeDatabaseBackfill, startDatabaseBackfill, type DatabaseRunnerSite } from "../../backfill/database";
import { progressText, remaining, remainingText } from "../../backfill/progress";
import { reltuples, runBackfill } from "../../backfill/run";
import type { ConnectionConfig } from "../../db/connection";
import type { MigrationRow } from "../../db/state";
import { qualified } from "../../sql/quote";
import { contextOf, requireRow, withSession, type Session } from "../session";
import type { ChildHandler } from "./types";

/**
 * The drift an unfinished backfill reports, from apply (a time budget ran out, or the job runs
 * in the database) as from refresh: the provider's diff sees it, so the next `pulumi up` runs the
 * Backfill child again and it continues (or reports) from its checkpoint.
 */
function unfinished(progress: string): string[] {
  return [`the backfill has not finished (${progress})`];
}

function site(s: Session, row: MigrationRow, conn: ConnectionConfig): DatabaseRunnerSite {
  return { db: s.db, conn, ctx: contextOf(s, row), stateSchema: s.stateSchema, exec: s.exec };
}

/** What the outputs say of the table's size and the vacuuming (bloat), from the checkpoint. */
function sizes(c: BudgetedCheckpoint | null): Record<string, unknown> {
  if (!c) return {};
  const pick = { tableBytesBefore: c.tableBytesBefore, tableBytesAfter: c.tableBytesAfter, vacuums: c.vacuums, order: c.order, runner: c.runner };
  return Object.fromEntries(Object.entries(pick).filter(([, v]) => v !== undefined));
}

/** An unfinished backfill's phrase, with the time left at the rate its timed runs achieved. */
async function standing(s: Session, c: BudgetedCheckpoint | null): Promise<{ progress: string; eta: string | null }> {
  const scanned = c?.rowsScanned ?? 0;
  const total = await reltuples(s.db, qualified(s.schema, s.table));
  const progress = progressText({ scanned, total, done: false });
  if (total === null || !c?.spent) return { progress, eta: null };
  return { progress, eta: remainingText(remaining({ scanned, total, spent: c.spent })) };
}

export const backfill: ChildHandler = {
  async apply(inputs, log) {
    return withSession(inputs, log, async (s) => {
      const row = requireRow(s, "Backfill");
      const where = site(s, row, inputs.connection);
      let cp = row.backfill as BudgetedCheckpoint | null;
      if (row.stage !== "expand") {
        // a job and procedure left from the expand are of no use any more
        if (cp?.runner === "database") await removeDatabaseBackfill(where);
        return { stage: row.stage, done: true, progress: progressText({ scanned: cp?.rowsScanned ?? 0, total: null, done: true }) };
      }
      const chosen = await chooseRunner(s.db, inputs.connection, s.spec.backfill.runner, s.names.id);
      if (chosen.warning) log(`pgshift: ${chosen.warning}`);
      if (chosen.runner === "database") {
        if (cp?.done) cp = await finishDatabaseBackfill(where, cp);
        else cp = (await startDatabaseBackfill(where, cp)).checkpoint;
        const base = { stage: "expand", runner: "database", done: cp.done, rowsScanned: cp.rowsScanned, rowsUpdated: cp.rowsUpdated, ...sizes(cp) };
        if (cp.done) return { ...base, progress: progressText({ scanned: cp.rowsScanned, total: null, done: true }) };
        const { progress, eta } = await standing(s, cp);
        return { ...base, progress, ...(eta ? { eta } : {}), drift: unfinished(progress) };
      }
      cp = await handOverToClient(where, cp);
      const r = await runBackfill(s.db, where.ctx, cp, { ...s.exec, stateSchema: s.stateSchema });
      const done = r.checkpoint.done;
      const progress = progressText({ scanned: r.checkpoint.rowsScanned, total: r.total, done });
      // a budget that ran out is no failure: the up goes on, ShadowIndexes and Cutover wait for it
      return {
        stage: "expand",
        done,
        rowsScanned: r.checkpoint.rowsScanned,
        rowsUpdated: r.checkpoint.rowsUpdated,
        batches: r.batches,
        elapsedMs: r.elapsedMs,
        progress,
        ...sizes(r.checkpoint),
        ...(done ? {} : { rowsTotal: r.total, stoppedBy: r.stoppedBy, drift: unfinished(progress) }),
      };
    });
  },
  // the backfilled values live in the shadow column (ShadowColumn's delete removes them); an
  // in-database backfill's job and procedure, and a physical one's cover trigger, go here
  async remove(props, log) {
    await withSession(props, log, async (s) => {
      if (!s.row) return;
      await removeDatabaseBackfill(site(s, s.row, props.connection));
    });
  },
  async read(props) {
    return withSession(props, () => undefined, async (s) => {
      if (!s.row) return null;
      const c = s.row.backfill as BudgetedCheckpoint | null;
      const done = s.row.stage !== "expand" || (c?.done ?? false);
      const scanned = c?.rowsScanned ?? 0;
      const base = { stage: s.row.stage, done, rowsScanned: scanned, rowsUpdated: c?.rowsUpdated ?? 0, ...sizes(c) };
      const ctx = contextOf(s, s.row);
      const job = c?.runner === "database" ? await backfillJobStatus(s.db, props.connection, ctx) : null;
      const jobOut = job ? { job: { id: job.jobid, lastRun: job.lastRun } } : {};
      // (a finished one's phrase follows from done and rowsScanned: the component's backfillProgress writes it)
      if (done) {
        // what a finished backfill leaves until the next up removes it (the cutover must not meet the cover trigger)
        const leftover = [...(job ? [`the backfill is done but its pg_cron job ${job.jobid} is still scheduled`] : []), ...(s.row.stage === "expand" && (await hasCoverTrigger(s.db, ctx)) ? ["the backfill is done but its cover trigger remains"] : [])];
        return { ...base, ...jobOut, drift: leftover };
      }
      // reltuples only: a refresh should not count(*) a large table
      const { progress, eta } = await standing(s, c);
      const failed = job?.lastRun?.status === "failed" ? [`the in-database backfill's last run failed: ${job.lastRun.message ?? "no message"}`] : [];
      return { ...base, ...jobOut, progress, ...(eta ? { eta } : {}), drift: [...unfinished(progress), ...failed] };
    });
  },
};
