import type { PlanContext } from "../plan/facts";
import { resolveOrder } from "./checkpoint";
import { backfillCallSql, backfillProcedureSql } from "./procedure";
import { backfillStatements } from "./sql";

/**
 * What `pulumi preview` shows for the Backfill child: the batches in the order it will use,
 * and, where it may run in the database, the procedure (with the batch bounds of the client
 * runner's keyset unit: the physical one is sized from the table's density at apply) and the
 * job's command.
 */
export function backfillPreview(ctx: PlanContext, stateSchema: string): string[] {
  const order = resolveOrder(ctx, ctx.spec.backfill.order);
  const statements = backfillStatements(ctx, order);
  if (ctx.spec.backfill.runner === "client") return statements;
  const b = ctx.spec.backfill;
  return [...statements, backfillProcedureSql(ctx, stateSchema, { min: Math.min(100, b.batchSize), max: b.maxBatchSize }, order === "physical", b.passes), `-- pg_cron, every minute until done: ${backfillCallSql(ctx)}`];
}
