import type { ClientBase } from "pg";
import type { ConnectionConfig } from "../db/connection";
import { runSteps, type ExecutorOptions } from "../db/executor";
import { readMigration, saveCheckpoint } from "../db/state";
import { BackfillRunnerError } from "../errors";
import type { PlanContext } from "../plan/facts";
import { transaction } from "../plan/step";
import { dropTriggerSql } from "../sql/functions";
import { stateTableName } from "../sql/state";
import type { BackfillRunner } from "../spec";
import { finishCheckpoint, hasCoverTrigger, passesOf, prepareCheckpoint, type BudgetedCheckpoint } from "./checkpoint";
import { backfillJobStatus, cronProblem, scheduleBackfillJob, unscheduleBackfillJob, type JobStatus } from "./cron";
import { backfillProcedureSql, dropBackfillProcedureSql } from "./procedure";
import { batchBounds } from "./run";

/** What the Backfill child needs to run or inspect the in-database backfill. */
export interface DatabaseRunnerSite {
  db: ClientBase;
  conn: ConnectionConfig;
  ctx: PlanContext;
  stateSchema: string;
  exec: ExecutorOptions;
}

/**
 * The runner a backfill uses on this server: "database" and "client" as asked ("database"
 * without a usable pg_cron is refused: the user asked for the work to outlive the deploy, and a
 * silent client run would hold the deploy for hours); "auto" is "database" where pg_cron is
 * usable. `warning` says why "auto" fell back to the client runner.
 */
export async function chooseRunner(db: ClientBase, conn: ConnectionConfig, runner: BackfillRunner, id: string): Promise<{ runner: "client" | "database"; warning: string | null }> {
  if (runner === "client") return { runner, warning: null };
  const problem = await cronProblem(db, conn);
  if (problem === null) return { runner: "database", warning: null };
  if (runner === "database") {
    throw new BackfillRunnerError(`${id}: backfill.runner "database" needs pg_cron, and ${problem}. Set backfill.runner to "client" (or "auto") to backfill within pulumi up instead.`);
  }
  return { runner: "client", warning: `${id}: backfill.runner "auto": ${problem}, so the backfill runs within pulumi up (the client runner)` };
}

/**
 * Starts (or keeps going) the in-database backfill: the checkpoint's bounds as the client
 * runner sets them (and the cover trigger in physical order), the procedure (re-created, so a
 * tuning change reaches it), and the pg_cron job. Returns at once; the job commits batch after
 * batch into the state row. A checkpoint the job already owns is left alone (it moves on under
 * the job), so a `pulumi up` during the backfill never writes an older one over it.
 */
export async function startDatabaseBackfill(site: DatabaseRunnerSite, start: BudgetedCheckpoint | null): Promise<{ checkpoint: BudgetedCheckpoint; job: JobStatus | null }> {
  const { db, ctx, stateSchema, exec } = site;
  let cp = start;
  if (cp?.runner !== "database" || !cp.order) {
    cp = await prepareCheckpoint(db, ctx, cp, { ...exec, stateSchema, runner: "database" });
  }
  if (cp.done) return { checkpoint: await finishDatabaseBackfill(site, cp), job: null };
  const physical = cp.order === "physical";
  const bounds = await batchBounds(db, ctx, physical);
  if (cp.batchSize === undefined) {
    await db.query(`UPDATE ${stateTableName(stateSchema)} SET backfill = backfill || jsonb_build_object('batchSize', $2::bigint) WHERE id = $1`, [ctx.names.id, bounds.initial]);
    cp = { ...cp, batchSize: bounds.initial };
  }
  await runSteps(db, [transaction("create the in-database backfill procedure", backfillProcedureSql(ctx, stateSchema, bounds, physical, passesOf(ctx.spec.backfill, cp)))], exec);
  await scheduleBackfillJob(db, site.conn, ctx);
  exec.log?.(`pgshift: backfill ${ctx.names.id}: scheduled as a pg_cron job (every minute until done); pulumi refresh or the next pulumi up reports its progress`);
  return { checkpoint: cp, job: await backfillJobStatus(db, site.conn, ctx) };
}

/** After the job finished: its job and procedure go, and the checkpoint is finished as the client runner's is. */
export async function finishDatabaseBackfill(site: DatabaseRunnerSite, cp: BudgetedCheckpoint): Promise<BudgetedCheckpoint> {
  await removeDatabaseBackfill(site);
  return finishCheckpoint(site.db, site.ctx, cp, { ...site.exec, stateSchema: site.stateSchema });
}

/**
 * The client runner takes over from a job (backfill.runner changed): the checkpoint's runner
 * becomes "client" first (waiting for the job's batch in flight: it locks the row), so the
 * procedure returns at its next batch; then the job goes. Returns the checkpoint as it is now.
 */
export async function handOverToClient(site: DatabaseRunnerSite, cp: BudgetedCheckpoint | null): Promise<BudgetedCheckpoint | null> {
  if (cp?.runner !== "database") return cp;
  const taken: BudgetedCheckpoint = { ...cp, runner: "client" };
  await saveCheckpoint(site.db, site.stateSchema, site.ctx.names.id, taken);
  await removeDatabaseBackfill(site, false);
  const row = await readMigration(site.db, site.stateSchema, site.ctx.names.id);
  return (row?.backfill as BudgetedCheckpoint | null) ?? null;
}

/** Unschedules the job (ending a run in flight) and drops the procedure and (unless kept) the cover trigger. Idempotent. */
export async function removeDatabaseBackfill(site: DatabaseRunnerSite, dropCover = true): Promise<void> {
  const { db, ctx, exec } = site;
  await unscheduleBackfillJob(db, site.conn, ctx);
  const { rows } = await db.query(`SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname = $2`, [ctx.facts.table.schema, ctx.names.backfillProcedure]);
  const steps = rows.length ? [transaction("drop the in-database backfill procedure", dropBackfillProcedureSql(ctx))] : [];
  if (dropCover && (await hasCoverTrigger(db, ctx))) steps.push(transaction("drop the cover trigger of the physical-order backfill", dropTriggerSql(ctx, ctx.names.coverTrigger)));
  if (steps.length) await runSteps(db, steps, exec);
}
