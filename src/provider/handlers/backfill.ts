import type { BudgetedCheckpoint } from "../../backfill/checkpoint";
import { hasCoverTrigger, passesOf } from "../../backfill/checkpoint";
import { backfillJobStatus } from "../../backfill/cron";
import { chooseRunner, finishDatabaseBackfill, handOverToClient, removeDatabaseBackfill, startDatabaseBackfill, type DatabaseRunnerSite } from "../../backfill/database";
import { progressText, remaining, remainingText } from "../../backfill/progress";
import { runBackfill } from "../../backfill/run";
import { reltuples } from "../../catalog/tableSize";
import { connect, type ConnectionConfig } from "../../db/connection";
import type { MigrationRow } from "../../db/state";
import type { PlanContext } from "../../plan/facts";
import type { BackfillSettings } from "../../spec";
import { contextOf, execFor, familyOf, memberRow, requireRow, unfinishedBackfill, withSession, type Session } from "../session";
import type { ChildHandler } from "./types";

/**
 * The drift an unfinished backfill reports, from apply (a time budget ran out, or the job runs
 * in the database) as from refresh: the provider's diff sees it, so the next `pulumi up` runs the
 * Backfill child again and it continues (or reports) from its checkpoint.
 */
function unfinished(progress: string): string[] {
  return [`the backfill has not finished (${progress})`];
}

/** Where a member's in-database backfill lives (its procedure and job are per member). */
function site(s: Session, m: PlanContext, conn: ConnectionConfig): DatabaseRunnerSite {
  return { db: s.db, conn, ctx: m, stateSchema: s.stateSchema, exec: execFor(s, m) };
}

/** A member's checkpoint, from its own state row. */
async function checkpointOf(s: Session, row: MigrationRow, m: PlanContext): Promise<BudgetedCheckpoint | null> {
  return ((await memberRow(s, row, m))?.backfill ?? null) as BudgetedCheckpoint | null;
}

/** What the outputs say of the table's size and the vacuuming (bloat), and how the batches walk (order, passes), from the checkpoint. */
function sizes(c: BudgetedCheckpoint | null, backfill: BackfillSettings): Record<string, unknown> {
  if (!c) return {};
  const pick = { tableBytesBefore: c.tableBytesBefore, tableBytesAfter: c.tableBytesAfter, vacuums: c.vacuums, pauses: c.pauses, pausedMs: c.pausedMs, order: c.order, passes: c.order ? passesOf(backfill, c) : undefined, runner: c.runner };
  return Object.fromEntries(Object.entries(pick).filter(([, v]) => v !== undefined));
}

/** An unfinished backfill's phrase (naming the member in a family), with the time left at the rate its timed runs achieved. */
async function standing(s: Session, m: PlanContext, c: BudgetedCheckpoint | null, family: boolean): Promise<{ progress: string; eta: string | null }> {
  const scanned = c?.rowsScanned ?? 0;
  const total = await reltuples(s.db, m.facts.table.qualifiedName);
  const progress = progressText({ scanned, total, done: false }) + (family ? ` (of ${m.names.id})` : "");
  if (total === null || !c?.spent) return { progress, eta: null };
  return { progress, eta: remainingText(remaining({ scanned, total, spent: c.spent })) };
}

export const backfill: ChildHandler = {
  async apply(inputs, log) {
    return withSession(inputs, log, async (s) => {
      const row = requireRow(s, "Backfill");
      const members = familyOf(s, row);
      if (row.stage !== "expand") {
        // a job and procedure left from the expand are of no use any more
        for (const m of members) if ((await checkpointOf(s, row, m))?.runner === "database") await removeDatabaseBackfill(site(s, m, inputs.connection));
        return { stage: row.stage, done: true, progress: progressText({ scanned: row.backfill?.rowsScanned ?? 0, total: null, done: true }) };
      }
      const chosen = await chooseRunner(s.db, inputs.connection, s.spec.backfill.runner, s.names.id);
      if (chosen.warning) log(`pgshift: ${chosen.warning}`);
      // every member of a key family has its own backfill and checkpoint (in its own row): in
      // the database each member's job runs on its own; the client runs them in the family's
      // order (parents first), and one that stops unfinished (its time budget) stops the run,
      // the next pulumi up continuing there
      const family = members.length > 1;
      let scanned = 0;
      let updated = 0;
      let batches = 0;
      let elapsedMs = 0;
      let workers = 0;
      let pending: { m: PlanContext; cp: BudgetedCheckpoint; stoppedBy?: string | null; total?: number | null } | null = null;
      let rootCp: BudgetedCheckpoint | null = null;
      for (const m of members) {
        let cp = await checkpointOf(s, row, m);
        if (chosen.runner === "database") {
          const where = site(s, m, inputs.connection);
          cp = cp?.done ? await finishDatabaseBackfill(where, cp) : (await startDatabaseBackfill(where, cp)).checkpoint;
          if (!cp.done) pending ??= { m, cp };
        } else if (!pending && !cp?.done) {
          cp = await handOverToClient(site(s, m, inputs.connection), cp);
          // the workers past the first (backfill.workers) open their own connections, closed when the run ends
          const r = await runBackfill(s.db, m, cp, { ...execFor(s, m), stateSchema: s.stateSchema, connect: () => connect(inputs.connection, "pgshift backfill worker") });
          cp = r.checkpoint;
          batches += r.batches;
          elapsedMs += r.elapsedMs;
          workers = Math.max(workers, r.workers);
          if (!cp.done) pending = { m, cp, stoppedBy: r.stoppedBy, total: r.total };
        }
        if (m.names.id === row.id) rootCp = cp;
        scanned += cp?.rowsScanned ?? 0;
        updated += cp?.rowsUpdated ?? 0;
      }
      const base = { stage: "expand", ...(chosen.runner === "database" ? { runner: "database" } : {}), rowsScanned: scanned, rowsUpdated: updated, ...(chosen.runner === "client" ? { batches, elapsedMs, workers } : {}), ...sizes(rootCp, s.spec.backfill) };
      if (!pending) return { ...base, done: true, progress: progressText({ scanned, total: null, done: true }) };
      // a budget that ran out is no failure: the up goes on, ShadowIndexes and Cutover wait for it
      const { progress, eta } = await standing(s, pending.m, pending.cp, family);
      const client = chosen.runner === "client" ? { rowsTotal: pending.total, stoppedBy: pending.stoppedBy } : {};
      return { ...base, done: false, progress, ...(eta ? { eta } : {}), ...client, drift: unfinished(progress) };
    });
  },
  // the backfilled values live in the shadow column (ShadowColumn's delete removes them); an
  // in-database backfill's job and procedure, and a physical one's cover trigger, go here
  async remove(props, log) {
    await withSession(props, log, async (s) => {
      if (!s.row) return;
      for (const m of familyOf(s, s.row)) await removeDatabaseBackfill(site(s, m, props.connection));
    });
  },
  async read(props) {
    return withSession(props, () => undefined, async (s) => {
      if (!s.row) return null;
      const row = s.row;
      const c = row.backfill as BudgetedCheckpoint | null;
      const pending = row.stage === "expand" ? await unfinishedBackfill(s, row) : null;
      const done = pending === null;
      const base = { stage: row.stage, done, rowsScanned: c?.rowsScanned ?? 0, rowsUpdated: c?.rowsUpdated ?? 0, ...sizes(c, s.spec.backfill) };
      const members = familyOf(s, row);
      if (done) {
        // what a finished backfill leaves until the next up removes it (the cutover must not meet the cover trigger)
        const leftover: string[] = [];
        let rootJob = {};
        for (const m of members) {
          const of = members.length > 1 ? ` of ${m.names.id}` : "";
          const job = (await checkpointOf(s, row, m))?.runner === "database" ? await backfillJobStatus(s.db, props.connection, m) : null;
          if (job) leftover.push(`the backfill${of} is done but its pg_cron job ${job.jobid} is still scheduled`);
          if (job && m.names.id === row.id) rootJob = { job: { id: job.jobid, lastRun: job.lastRun } };
          if (row.stage === "expand" && (await hasCoverTrigger(s.db, m))) leftover.push(`the backfill${of} is done but its cover trigger remains`);
        }
        return { ...base, ...rootJob, drift: leftover };
      }
      // reltuples only: a refresh should not count(*) a large table
      const cp = (pending.row?.backfill ?? null) as BudgetedCheckpoint | null;
      const job = cp?.runner === "database" ? await backfillJobStatus(s.db, props.connection, pending.ctx) : null;
      const jobOut = job ? { job: { id: job.jobid, lastRun: job.lastRun } } : {};
      const { progress, eta } = await standing(s, pending.ctx, cp, members.length > 1);
      const failed = job?.lastRun?.status === "failed" ? [`the in-database backfill's last run failed: ${job.lastRun.message ?? "no message"}`] : [];
      return { ...base, ...jobOut, progress, ...(eta ? { eta } : {}), drift: [...unfinished(progress), ...failed] };
    });
  },
};
